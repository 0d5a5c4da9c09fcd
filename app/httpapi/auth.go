package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/transferd/transferd/app"
)

// Tokens are the API tokens of every account, kept only as SHA-256 digests.
//
// A configured token is "sha256:<64 hex digits>" (the digest of the token,
// preferred: the configuration then holds no usable secret) or the token in
// plain text, which is hashed when the table is built. A request's token is
// hashed and compared with every configured digest in constant time
// (crypto/subtle), without stopping at the first match, so the time taken
// says nothing about which token or account matched.
type Tokens struct {
	entries []tokenEntry
}

type tokenEntry struct {
	account string
	sum     [sha256.Size]byte
}

// HashPrefix marks a configured token that is a SHA-256 digest.
const HashPrefix = "sha256:"

// maxTokenLen bounds the token a request may present.
const maxTokenLen = 4096

// ConfigTokens builds the table from the accounts' tokens of cfg
// (accounts.<name>.tokens).
func ConfigTokens(cfg app.Config) (*Tokens, error) {
	byAccount := map[string][]string{}
	for name, ac := range cfg.Accounts {
		for _, t := range ac.Tokens {
			byAccount[name] = append(byAccount[name], string(t))
		}
	}
	return NewTokens(byAccount)
}

// NewTokens builds the table from each account's configured tokens. Every
// problem is reported, naming accounts.<name>.tokens[<i>] and never the
// token itself.
func NewTokens(byAccount map[string][]string) (*Tokens, error) {
	t := &Tokens{}
	var errs []error
	names := make([]string, 0, len(byAccount))
	for name := range byAccount {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for i, tok := range byAccount[name] {
			ref := fmt.Sprintf("accounts.%s.tokens[%d]", name, i)
			sum, err := parseToken(tok)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", ref, err))
				continue
			}
			t.entries = append(t.entries, tokenEntry{account: name, sum: sum})
		}
	}
	return t, errors.Join(errs...)
}

func parseToken(tok string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	if strings.TrimSpace(tok) == "" {
		return sum, errors.New("empty token")
	}
	if len(tok) >= len(HashPrefix) && strings.EqualFold(tok[:len(HashPrefix)], HashPrefix) {
		h := tok[len(HashPrefix):]
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != sha256.Size {
			return sum, fmt.Errorf("%q must be followed by the 64 hex digits of the token's SHA-256 (sha256sum), got %d characters", HashPrefix, len(h))
		}
		copy(sum[:], b)
		return sum, nil
	}
	if len(tok) > maxTokenLen {
		return sum, fmt.Errorf("longer than %d bytes", maxTokenLen)
	}
	return sha256.Sum256([]byte(tok)), nil
}

// HashToken returns the configuration form "sha256:<hex>" of a token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return HashPrefix + hex.EncodeToString(sum[:])
}

// Accounts says how many accounts have at least one token.
func (t *Tokens) Accounts() int {
	seen := map[string]bool{}
	for _, e := range t.entries {
		seen[e.account] = true
	}
	return len(seen)
}

// check compares token with every configured digest. known: it is the
// token of some account; allowed: it is a token of account.
func (t *Tokens) check(token, account string) (known, allowed bool) {
	if t == nil || token == "" || len(token) > maxTokenLen {
		return false, false
	}
	sum := sha256.Sum256([]byte(token))
	var any, mine int
	for _, e := range t.entries {
		eq := subtle.ConstantTimeCompare(sum[:], e.sum[:])
		any |= eq
		if e.account == account {
			mine |= eq
		}
	}
	return any == 1, mine == 1
}

// tokenOf reads the request's token: Kazoo's X-Auth-Token header or
// Authorization: Bearer. When both are sent they must be the same token.
func tokenOf(r *http.Request) (string, *Error) {
	x := strings.TrimSpace(r.Header.Get("X-Auth-Token"))
	var bearer string
	if h := strings.TrimSpace(r.Header.Get("Authorization")); h != "" {
		scheme, rest, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			if x == "" {
				return "", unauthorized("unsupported Authorization scheme: send Authorization: Bearer <token> or X-Auth-Token: <token>")
			}
		} else {
			bearer = strings.TrimSpace(rest)
		}
	}
	switch {
	case x == "" && bearer == "":
		return "", unauthorized("missing auth token: send X-Auth-Token: <token> or Authorization: Bearer <token>")
	case x != "" && bearer != "" && subtle.ConstantTimeCompare([]byte(x), []byte(bearer)) != 1:
		return "", unauthorized("X-Auth-Token and Authorization: Bearer carry different tokens")
	case x != "":
		return x, nil
	}
	return bearer, nil
}

func unauthorized(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Reason: ReasonUnauthorized, Message: msg}
}

// notFoundAccount answers a valid token used on an account it does not
// belong to, whether that account exists or not.
func notFoundAccount(account string) *Error {
	return &Error{Status: http.StatusNotFound, Reason: ReasonNotFound,
		Message: "account " + quote(account) + " not found"}
}

// authorize checks the request's token for account: 401 without a token or
// with one that is no account's, 404 with another account's token (the
// same answer for an account that does not exist: the token's holder learns
// nothing about other accounts).
func (t *Tokens) authorize(r *http.Request, account string) *Error {
	tok, e := tokenOf(r)
	if e != nil {
		return e
	}
	known, allowed := t.check(tok, account)
	switch {
	case !known:
		return unauthorized("invalid auth token")
	case !allowed:
		return notFoundAccount(account)
	}
	return nil
}
