package app

import (
	"fmt"
	"regexp"
)

// BillingConfig says what transferd writes into Asterisk's records (see
// billing.go and the README's "Billing records" section).
type BillingConfig struct {
	// AccountCode is set as CHANNEL(accountcode) on every leg of the
	// account's calls; "" leaves Asterisk's (the endpoint's) in place.
	AccountCode string `yaml:"accountcode"`
	// CELContext is the dialplan context that raises transferd's CEL
	// user-defined events (TRANSFERD_START, TRANSFERD_END); "" raises none.
	CELContext string `yaml:"cel_context"`
}

// DefaultCELContext is the context dialplan/extensions_transferd.conf ships.
const DefaultCELContext = "transferd-cel"

// accountCodeRE: what Asterisk keeps in an account code (80 characters at
// most, AST_MAX_ACCOUNT_CODE) and what every CDR backend stores unquoted.
var accountCodeRE = regexp.MustCompile(`^[A-Za-z0-9_.@+-]{1,80}$`)

// contextRE: a dialplan context name.
var contextRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,79}$`)

func (b BillingConfig) validate(prefix string) []error {
	var errs []error
	if b.AccountCode != "" && !accountCodeRE.MatchString(b.AccountCode) {
		errs = append(errs, fmt.Errorf("%s.billing.accountcode: must be 1-80 of the characters A-Z a-z 0-9 _ . @ + -, got %q", prefix, b.AccountCode))
	}
	if b.CELContext != "" && !contextRE.MatchString(b.CELContext) {
		errs = append(errs, fmt.Errorf("%s.billing.cel_context: must be a dialplan context name (letters, digits, _ and -), got %q", prefix, b.CELContext))
	}
	return errs
}
