package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// CDR is one row of cdr_custom's JSON output (asterisk-conf/cdr_custom.conf).
// Times are epoch seconds with microseconds; Answer is 0 when the row was
// never answered.
type CDR struct {
	Clid        string  `json:"clid"`
	Src         string  `json:"src"`
	Dst         string  `json:"dst"`
	DContext    string  `json:"dcontext"`
	Channel     string  `json:"channel"`
	DstChannel  string  `json:"dstchannel"`
	LastApp     string  `json:"lastapp"`
	LastData    string  `json:"lastdata"`
	Start       float64 `json:"start"`
	Answer      float64 `json:"answer"`
	End         float64 `json:"end"`
	Duration    int64   `json:"duration"`
	Billsec     int64   `json:"billsec"`
	Disposition string  `json:"disposition"`
	AMAFlags    string  `json:"amaflags"`
	AccountCode string  `json:"accountcode"`
	PeerAccount string  `json:"peeraccount"`
	UniqueID    string  `json:"uniqueid"`
	LinkedID    string  `json:"linkedid"`
	UserField   string  `json:"userfield"`
	Sequence    int64   `json:"sequence"`
}

// Talk is the row's answered time in seconds, to the microsecond (billsec
// is the same, truncated).
func (r CDR) Talk() float64 {
	if r.Answer == 0 {
		return 0
	}
	return r.End - r.Answer
}

func (r CDR) String() string {
	return fmt.Sprintf("%s -> %s [%s] src=%q dst=%q disp=%s billsec=%d talk=%.2f uid=%s linked=%s acct=%q userfield=%q app=%s(%s)",
		r.Channel, r.DstChannel, r.Clid, r.Src, r.Dst, r.Disposition, r.Billsec, r.Talk(), r.UniqueID, r.LinkedID, r.AccountCode, r.UserField, r.LastApp, r.LastData)
}

// CEL is one event of cel_custom's JSON output (asterisk-conf/cel_custom.conf).
type CEL struct {
	EventType   string  `json:"eventtype"`
	EventEnum   string  `json:"eventenum"`
	UserDefType string  `json:"userdeftype"`
	EventTime   float64 `json:"eventtime"`
	CIDName     string  `json:"name"`
	CIDNum      string  `json:"num"`
	Exten       string  `json:"exten"`
	Context     string  `json:"context"`
	ChanName    string  `json:"channame"`
	AppName     string  `json:"appname"`
	AppData     string  `json:"appdata"`
	AccountCode string  `json:"accountcode"`
	UniqueID    string  `json:"uniqueid"`
	LinkedID    string  `json:"linkedid"`
	Peer        string  `json:"peer"`
	PeerAccount string  `json:"peeraccount"`
	UserField   string  `json:"userfield"`
	Extra       string  `json:"eventextra"`
}

func (e CEL) String() string {
	s := fmt.Sprintf("%.3f %s %s uid=%s linked=%s", e.EventTime, e.EventType, e.ChanName, e.UniqueID, e.LinkedID)
	if e.Peer != "" {
		s += " peer=" + e.Peer
	}
	if e.Extra != "" {
		s += " extra=" + e.Extra
	}
	return s
}

// ReadCDRs reads every complete row of a cdr_custom JSON file. A last line
// still being written (no newline yet) is left for the next read.
func ReadCDRs(path string) ([]CDR, error) { return readJSONLines[CDR](path) }

// ReadCELs reads every complete event of a cel_custom JSON file.
func ReadCELs(path string) ([]CEL, error) { return readJSONLines[CEL](path) }

func readJSONLines[T any](path string) ([]T, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	} else {
		return nil, nil
	}
	var out []T
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(line, &v); err != nil {
			return nil, fmt.Errorf("%s:%d: %w: %s", path, n, err, line)
		}
		out = append(out, v)
	}
	return out, sc.Err()
}

// CallRecords are the CDRs and CELs of one call.
type CallRecords struct {
	CDRs []CDR
	CELs []CEL
}

// RecordsOf selects the records that belong to a call: those whose
// uniqueid or linkedid starts with one of prefixes (the test's tag, which
// starts the id of every channel the test or transferd names), and, so that
// channels Asterisk named itself (native atxfer's, Announcers) are not
// missed, those sharing a linkedid with a selected record.
func RecordsOf(cdrs []CDR, cels []CEL, prefixes ...string) CallRecords {
	return RecordsMatching(cdrs, cels, func(id string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(id, p) {
				return true
			}
		}
		return false
	})
}

// RecordsMatching selects the records whose uniqueid or linkedid mine
// says belong to the call, and those sharing a linkedid with them.
func RecordsMatching(cdrs []CDR, cels []CEL, mine func(id string) bool) CallRecords {
	linked := map[string]bool{}
	for _, r := range cdrs {
		if mine(r.UniqueID) || mine(r.LinkedID) {
			linked[r.LinkedID] = true
		}
	}
	for _, e := range cels {
		if mine(e.UniqueID) || mine(e.LinkedID) {
			linked[e.LinkedID] = true
		}
	}
	var out CallRecords
	for _, r := range cdrs {
		if mine(r.UniqueID) || linked[r.LinkedID] {
			out.CDRs = append(out.CDRs, r)
		}
	}
	for _, e := range cels {
		if mine(e.UniqueID) || linked[e.LinkedID] {
			out.CELs = append(out.CELs, e)
		}
	}
	return out
}

// LinkedIDs lists the distinct linkedids of the records, in order of first
// appearance.
func (c CallRecords) LinkedIDs() []string {
	var out []string
	seen := map[string]bool{}
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, e := range c.CELs {
		add(e.LinkedID)
	}
	for _, r := range c.CDRs {
		add(r.LinkedID)
	}
	return out
}

// Complete says whether the call is over and its CDRs are written: every
// linkedid has its LINKEDID_END, and every channel that answered and ended
// is in a CDR row. CDRs are written by
// another thread than CELs, a moment later.
func (c CallRecords) Complete() bool {
	if !c.Ended() {
		return false
	}
	inCDR, answered := map[string]bool{}, map[string]bool{}
	for _, r := range c.CDRs {
		inCDR[r.Channel], inCDR[r.DstChannel] = true, true
	}
	for _, e := range c.CELs {
		if e.EventType == "ANSWER" {
			answered[e.ChanName] = true
		}
	}
	// A channel that never answered may have no row at all.
	for _, e := range c.CELs {
		if e.EventType == "CHAN_END" && answered[e.ChanName] && !inCDR[e.ChanName] {
			return false
		}
	}
	return true
}

// Ended says whether every linkedid of the call has its LINKEDID_END:
// then every channel of the call is gone.
func (c CallRecords) Ended() bool {
	if len(c.CELs) == 0 {
		return false
	}
	ended := map[string]bool{}
	for _, e := range c.CELs {
		if e.EventType == "LINKEDID_END" {
			ended[e.LinkedID] = true
		}
	}
	for _, id := range c.LinkedIDs() {
		if !ended[id] {
			return false
		}
	}
	return true
}
