package app

import (
	"strings"
	"testing"
)

func TestBillingConfig(t *testing.T) {
	base := func() Config {
		c := DefaultConfig()
		c.Accounts = map[string]AccountConfig{"x": cloneAccount(c.Defaults)}
		return c
	}
	if got := DefaultConfig().Defaults.Billing.CELContext; got != DefaultCELContext {
		t.Fatalf("default cel_context %q, want %q", got, DefaultCELContext)
	}
	good := []BillingConfig{
		{},
		{AccountCode: "sales-01", CELContext: "transferd-cel"},
		{AccountCode: "acme.eu@pbx+1_x", CELContext: ""},
		{AccountCode: strings.Repeat("a", 80)},
	}
	for _, b := range good {
		c := base()
		x := c.Accounts["x"]
		x.Billing = b
		c.Accounts["x"] = x
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", b, err)
		}
	}
	bad := []struct {
		b   BillingConfig
		key string
	}{
		{BillingConfig{AccountCode: "a,b"}, "accounts.x.billing.accountcode"},
		{BillingConfig{AccountCode: "a b"}, "accounts.x.billing.accountcode"},
		{BillingConfig{AccountCode: "a\"b"}, "accounts.x.billing.accountcode"},
		{BillingConfig{AccountCode: strings.Repeat("a", 81)}, "accounts.x.billing.accountcode"},
		{BillingConfig{CELContext: "a,b"}, "accounts.x.billing.cel_context"},
		{BillingConfig{CELContext: "ctx(1)"}, "accounts.x.billing.cel_context"},
	}
	for _, tt := range bad {
		c := base()
		x := c.Accounts["x"]
		x.Billing = tt.b
		c.Accounts["x"] = x
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.key+": ") {
			t.Errorf("%+v: error %v, want one naming %s", tt.b, err, tt.key)
		}
	}
	// From YAML, strictly: the keys exist under an account.
	c, err := ParseConfig([]byte("accounts:\n  x:\n    billing: {accountcode: sales, cel_context: my-cel}\n"), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if b := c.Accounts["x"].Billing; b.AccountCode != "sales" || b.CELContext != "my-cel" {
		t.Fatalf("parsed %+v", b)
	}
}

func TestUserfield(t *testing.T) {
	if got := userfield("c-x1", "target", ""); got != "transfer=c-x1;role=target" {
		t.Fatal(got)
	}
	if got := userfield("c-x1", "transferee", "partial-completed"); got != "transfer=c-x1;role=transferee;outcome=partial-completed" {
		t.Fatal(got)
	}
}
