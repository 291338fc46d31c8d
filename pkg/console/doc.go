// Package console is the access console: server-rendered pages where admins and auditors see who can do what, why, and since when, answered by the domain API in process with the signed-in principal's key.
package console
