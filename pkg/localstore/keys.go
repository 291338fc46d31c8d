package localstore

// joinKey concatenates fields, each terminated by 0x00 (the last only if
// terminateLast), so byte order equals the lexicographic order of the field tuple:
// object ids cannot contain 0x00.
func joinKey(parts []string, terminateLast bool) []byte {
	n := 0
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		b = append(b, p...)
		if i < len(parts)-1 || terminateLast {
			b = append(b, 0)
		}
	}
	return b
}
