package engine

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"unicode/utf8"
)

// MinKeyLength is the fewest characters a preshared key may have. A key is the only thing
// between a network client and every relationship, so it must resist guessing: 16 random
// characters are far beyond any online guessing rate a server can sustain.
const MinKeyLength = 16

// KeyAdvice says how to make a good key; errors about keys end with it.
const KeyAdvice = "generate one with: openssl rand -hex 24"

// ErrWeakKey reports a preshared key too short to be safe.
var ErrWeakKey = errors.New("preshared key too short")

// CheckKey refuses a preshared key shorter than MinKeyLength characters. The error gives the
// length, never the key or any part of it.
func CheckKey(key string) error {
	if n := utf8.RuneCountInString(key); n < MinKeyLength {
		return fmt.Errorf("%w: %d characters, at least %d required: %s", ErrWeakKey, n, MinKeyLength, KeyAdvice)
	}
	return nil
}

// GenerateKey returns a random preshared key: 24 random bytes in hex after an "ag_" prefix
// (51 characters).
func GenerateKey() (string, error) {
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("generating a preshared key: %w", err)
	}
	return "ag_" + hex.EncodeToString(buf), nil
}
