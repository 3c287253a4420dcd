// Package accounts holds the customer accounts (户号) the hotline looks up
// when a call arrives: by caller phone number to greet the caller and route
// important customers, and by account number when the caller keys it in.
//
// All state lives in Redis so that every controller replica sees the same
// data. Key layout, with prefix P (default "hotline:"):
//
//	P account:<number>   string  JSON of Account
//	P account:phones     hash    normalised phone -> account number
//
// Put changes both keys in one Lua script, so they never disagree. With Redis
// Cluster, give the prefix a hash tag (e.g. "{hotline}:") so that both keys
// live in the same slot.
package accounts

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is the key prefix used when New is given an empty one.
const DefaultPrefix = "hotline:"

var (
	// ErrNotFound: no account with that number or phone.
	ErrNotFound = errors.New("accounts: not found")
	// ErrInvalid: an account or an import row failed validation.
	ErrInvalid = errors.New("accounts: invalid")
)

// Customer classes. Routing treats ClassImportant callers with priority;
// the list is closed so that a typo in an import cannot silently demote a
// hospital to an ordinary customer.
const (
	ClassResidential  = "residential"
	ClassImportant    = "important"
	ClassCommercial   = "commercial"
	ClassIndustrial   = "industrial"
	ClassAgricultural = "agricultural"
)

// KnownClass reports whether c is one of the Class* constants.
func KnownClass(c string) bool {
	switch c {
	case ClassResidential, ClassImportant, ClassCommercial, ClassIndustrial, ClassAgricultural:
		return true
	}
	return false
}

// Account is one electricity customer account.
type Account struct {
	Number      string   `json:"number"` // 户号, digits only
	Name        string   `json:"name"`
	Phones      []string `json:"phones"` // normalised, see NormalizePhone
	Address     string   `json:"address"`
	Area        string   `json:"area"`
	Transformer string   `json:"transformer"`
	Class       string   `json:"class"`
	// BalanceFen is the prepaid balance in fen (0.01 yuan); negative means
	// arrears.
	BalanceFen   int64     `json:"balance_fen"`
	LastBillFen  int64     `json:"last_bill_fen"`
	LastBillDate time.Time `json:"last_bill_date"` // date only, midnight UTC
	BirthYear    int       `json:"birth_year"`     // 0 when unknown
}

// Age returns the caller's age in whole years at now (by calendar year, which
// is all a birth year allows), or -1 when the birth year is unknown.
func (a Account) Age(now time.Time) int {
	if a.BirthYear == 0 {
		return -1
	}
	return now.Year() - a.BirthYear
}

// Store reads and writes accounts in Redis.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

// New returns a Store using keys under prefix (DefaultPrefix when empty).
func New(rdb redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{rdb: rdb, prefix: prefix}
}

func (s *Store) accountKey(number string) string { return s.prefix + "account:" + number }
func (s *Store) phoneIndexKey() string           { return s.prefix + "account:phones" }

// putLua stores the account JSON and points each of its phones at it. A
// phone the previous version listed but this one does not is removed from the
// index, unless another account has claimed it since, so re-putting an
// account never steals back or orphans a number. Doing this in Lua makes the
// read of the old phones and the writes one atomic step on the server.
//
// KEYS[1] account key, KEYS[2] phone index hash.
// ARGV[1] account number, ARGV[2] JSON, ARGV[3..] normalised phones.
//
//go:embed put.lua
var putLua string

var putScript = redis.NewScript(putLua)

// Put validates a, normalises its phone numbers and stores it, replacing any
// account with the same number. The phone index is updated in the same
// atomic step. When two accounts list the same phone, the last one put wins
// ByPhone.
func (s *Store) Put(ctx context.Context, a Account) error {
	a, err := Normalize(a)
	if err != nil {
		return err
	}
	keys, args, err := s.putArgs(a)
	if err != nil {
		return err
	}
	if err := putScript.Run(ctx, s.rdb, keys, args...).Err(); err != nil {
		return fmt.Errorf("accounts: put %s: %w", a.Number, err)
	}
	return nil
}

func (s *Store) putArgs(a Account) ([]string, []any, error) {
	js, err := json.Marshal(a)
	if err != nil {
		return nil, nil, fmt.Errorf("accounts: encode %s: %w", a.Number, err)
	}
	args := make([]any, 0, 2+len(a.Phones))
	args = append(args, a.Number, string(js))
	for _, p := range a.Phones {
		args = append(args, p)
	}
	return []string{s.accountKey(a.Number), s.phoneIndexKey()}, args, nil
}

// Normalize trims a's fields, normalises and de-duplicates its phones and
// validates it, returning an error wrapping ErrInvalid when it is unusable.
func Normalize(a Account) (Account, error) {
	a.Number = strings.TrimSpace(a.Number)
	a.Name = strings.TrimSpace(a.Name)
	a.Class = strings.TrimSpace(a.Class)
	if err := checkNumber(a.Number); err != nil {
		return a, fmt.Errorf("%w: account %q: %v", ErrInvalid, a.Number, err)
	}
	if !KnownClass(a.Class) {
		return a, fmt.Errorf("%w: account %s: unknown class %q", ErrInvalid, a.Number, a.Class)
	}
	phones := make([]string, 0, len(a.Phones))
	seen := make(map[string]bool, len(a.Phones))
	for _, raw := range a.Phones {
		p := NormalizePhone(raw)
		if p == "" {
			continue
		}
		if !ValidPhone(p) {
			return a, fmt.Errorf("%w: account %s: bad phone %q", ErrInvalid, a.Number, raw)
		}
		if !seen[p] {
			seen[p] = true
			phones = append(phones, p)
		}
	}
	a.Phones = phones
	return a, nil
}

// checkNumber: account numbers are keyed in by DTMF and read back digit by
// digit, so anything but digits is a data error.
func checkNumber(n string) error {
	if n == "" {
		return errors.New("account number is empty")
	}
	if len(n) > 20 {
		return errors.New("account number longer than 20 digits")
	}
	if !allDigits(n) {
		return errors.New("account number must be digits only")
	}
	return nil
}

// ByNumber returns the account with the given number.
func (s *Store) ByNumber(ctx context.Context, number string) (Account, error) {
	number = strings.TrimSpace(number)
	if checkNumber(number) != nil {
		// Not a key we could have written; don't let it reach Redis as a
		// key fragment.
		return Account{}, fmt.Errorf("account %q: %w", number, ErrNotFound)
	}
	js, err := s.rdb.Get(ctx, s.accountKey(number)).Result()
	if errors.Is(err, redis.Nil) {
		return Account{}, fmt.Errorf("account %s: %w", number, ErrNotFound)
	}
	if err != nil {
		return Account{}, fmt.Errorf("accounts: get %s: %w", number, err)
	}
	var a Account
	if err := json.Unmarshal([]byte(js), &a); err != nil {
		return Account{}, fmt.Errorf("accounts: decode %s: %w", number, err)
	}
	return a, nil
}

// ByPhone returns the account a caller's phone number belongs to. The number
// is normalised first, so a caller ID like "+86 138-0013-8000" matches.
func (s *Store) ByPhone(ctx context.Context, phone string) (Account, error) {
	p := NormalizePhone(phone)
	if !ValidPhone(p) {
		return Account{}, fmt.Errorf("phone %q: %w", phone, ErrNotFound)
	}
	number, err := s.rdb.HGet(ctx, s.phoneIndexKey(), p).Result()
	if errors.Is(err, redis.Nil) {
		return Account{}, fmt.Errorf("phone %s: %w", p, ErrNotFound)
	}
	if err != nil {
		return Account{}, fmt.Errorf("accounts: phone lookup: %w", err)
	}
	// A concurrent Put may repoint the phone between the two reads; either
	// answer is one that was true a moment ago, which is all a greeting needs.
	return s.ByNumber(ctx, number)
}

// putBatch puts accounts in one pipeline of EVALSHA.
func (s *Store) putBatch(ctx context.Context, batch []Account) ([]redis.Cmder, error) {
	return s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, a := range batch {
			keys, args, err := s.putArgs(a)
			if err != nil {
				return err
			}
			putScript.EvalSha(ctx, pipe, keys, args...)
		}
		return nil
	})
}

func noScript(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		if redis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			return true
		}
	}
	return false
}

// importBatch bounds one pipeline round trip during Import.
const importBatch = 500

// Import parses a CSV file (see ParseCSV) and stores every account in it. The
// whole file is validated before anything is written, so a bad row leaves
// Redis untouched. Each account is written atomically; a Redis failure part
// way leaves earlier accounts written, and n says how many. Re-running an
// import is harmless.
func (s *Store) Import(ctx context.Context, r io.Reader) (n int, err error) {
	accts, err := ParseCSV(r)
	if err != nil {
		return 0, err
	}
	for start := 0; start < len(accts); start += importBatch {
		batch := accts[start:min(start+importBatch, len(accts))]
		cmds, err := s.putBatch(ctx, batch)
		for try := 0; try < 3 && noScript(cmds); try++ {
			// Inside a pipeline go-redis cannot fall back to EVAL: Redis
			// lost its scripts (a restart, a Sentinel failover to a
			// replica, SCRIPT FLUSH), possibly again after our load. Load
			// the script and put the batch again; putting an account
			// twice is harmless.
			if err := putScript.Load(ctx, s.rdb).Err(); err != nil {
				return n, fmt.Errorf("accounts: import: load script: %w", err)
			}
			cmds, err = s.putBatch(ctx, batch)
		}
		for _, c := range cmds {
			if c.Err() == nil {
				n++
			}
		}
		if err != nil {
			return n, fmt.Errorf("accounts: import: %w", err)
		}
	}
	return n, nil
}
