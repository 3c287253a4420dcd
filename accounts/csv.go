package accounts

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Columns is the header ParseCSV expects, in any order.
var Columns = []string{
	"account", "name", "phones", "address", "area", "transformer",
	"class", "balance", "last_bill", "last_bill_date", "birth_year",
}

// RowError is a problem with one line of an import file. It matches
// ErrInvalid with errors.Is.
type RowError struct {
	Line   int    // 1-based line in the file
	Column string // empty when the problem is the whole line
	Err    error
}

func (e *RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("line %d, column %s: %v", e.Line, e.Column, e.Err)
}

func (e *RowError) Unwrap() []error { return []error{ErrInvalid, e.Err} }

var errEmpty = errors.New("value is required")

// maxRowErrors caps how many problems one ParseCSV reports: enough to fix a
// file in one pass without burying the first error in noise.
const maxRowErrors = 20

// ParseCSV reads accounts from CSV with a header row naming the Columns.
// Fields are trimmed; phones are separated by ';' and normalised; money is
// yuan with at most two decimals; last_bill_date is YYYY-MM-DD; last_bill,
// last_bill_date and birth_year may be empty. A UTF-8 byte order mark (as
// spreadsheet programs write) is ignored, as are lines starting with '#'.
//
// All rows are checked before returning. On any problem the result is nil
// and the error joins up to 20 *RowError values, each naming its line.
func ParseCSV(r io.Reader) ([]Account, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: empty file, want a header row", ErrInvalid)
	}
	if err != nil {
		return nil, csvError(err)
	}
	col, err := headerIndex(header)
	if err != nil {
		line, _ := cr.FieldPos(0)
		return nil, &RowError{Line: line, Err: err}
	}

	var (
		accts      []Account
		errs       []error
		numberLine = map[string]int{}
		phoneOwner = map[string]string{}
	)
	add := func(e *RowError) bool {
		errs = append(errs, e)
		return len(errs) < maxRowErrors
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// Wrong field count is reported per row; anything else (a stray
			// quote) leaves the reader unsure where rows end, so stop.
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
				if !add(&RowError{Line: pe.StartLine, Err: fmt.Errorf("%d fields, header has %d", len(rec), len(header))}) {
					break
				}
				continue
			}
			errs = append(errs, csvError(err))
			break
		}
		line, _ := cr.FieldPos(0)
		a, rerr := parseRow(rec, col, line)
		if rerr != nil {
			if !add(rerr) {
				break
			}
			continue
		}
		if first, dup := numberLine[a.Number]; dup {
			if !add(&RowError{Line: line, Column: "account", Err: fmt.Errorf("account %s already on line %d", a.Number, first)}) {
				break
			}
			continue
		}
		numberLine[a.Number] = line
		// One phone, one caller: a number shared between accounts would
		// make ByPhone depend on row order, so the file must decide.
		bad := false
		for _, p := range a.Phones {
			if other, dup := phoneOwner[p]; dup {
				bad = true
				if !add(&RowError{Line: line, Column: "phones", Err: fmt.Errorf("phone %s already belongs to account %s (line %d)", p, other, numberLine[other])}) {
					break
				}
			}
		}
		if bad {
			if len(errs) >= maxRowErrors {
				break
			}
			continue
		}
		for _, p := range a.Phones {
			phoneOwner[p] = a.Number
		}
		accts = append(accts, a)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return accts, nil
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &RowError{Line: pe.Line, Err: pe.Err}
	}
	return fmt.Errorf("accounts: read csv: %w", err)
}

func headerIndex(header []string) (map[string]int, error) {
	col := make(map[string]int, len(header))
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\uFEFF")
		}
		h = strings.ToLower(strings.TrimSpace(h))
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("header: column %q twice", h)
		}
		col[h] = i
	}
	var missing []string
	for _, c := range Columns {
		if _, ok := col[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("header: missing column(s) %s", strings.Join(missing, ", "))
	}
	// Unknown columns are most likely misspellings of known ones whose data
	// would otherwise be dropped without a word.
	if len(col) != len(Columns) {
		known := make(map[string]bool, len(Columns))
		for _, c := range Columns {
			known[c] = true
		}
		for _, h := range header {
			h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF")))
			if !known[h] {
				return nil, fmt.Errorf("header: unknown column %q", h)
			}
		}
	}
	return col, nil
}

// parseRow turns one record into a normalised, validated Account.
func parseRow(rec []string, col map[string]int, line int) (Account, *RowError) {
	get := func(name string) string { return strings.TrimSpace(rec[col[name]]) }
	fail := func(column string, err error) (Account, *RowError) {
		return Account{}, &RowError{Line: line, Column: column, Err: err}
	}

	a := Account{
		Number:      get("account"),
		Name:        get("name"),
		Address:     get("address"),
		Area:        get("area"),
		Transformer: get("transformer"),
		Class:       strings.ToLower(get("class")),
	}
	if err := checkNumber(a.Number); err != nil {
		return fail("account", err)
	}
	if a.Name == "" {
		return fail("name", errEmpty)
	}
	for _, raw := range strings.Split(get("phones"), ";") {
		if strings.TrimSpace(raw) == "" {
			continue // tolerate "a;b;" and accounts without a phone
		}
		p := NormalizePhone(raw)
		if !ValidPhone(p) {
			return fail("phones", fmt.Errorf("bad phone %q", strings.TrimSpace(raw)))
		}
		a.Phones = append(a.Phones, p)
	}
	if a.Class == "" {
		return fail("class", errEmpty)
	}
	if !KnownClass(a.Class) {
		return fail("class", fmt.Errorf("unknown class %q", a.Class))
	}
	bal := get("balance")
	if bal == "" {
		return fail("balance", errEmpty)
	}
	var err error
	if a.BalanceFen, err = ParseYuan(bal); err != nil {
		return fail("balance", err)
	}
	if v := get("last_bill"); v != "" {
		if a.LastBillFen, err = ParseYuan(v); err != nil {
			return fail("last_bill", err)
		}
	}
	if v := get("last_bill_date"); v != "" {
		if a.LastBillDate, err = time.Parse(time.DateOnly, v); err != nil {
			return fail("last_bill_date", fmt.Errorf("date %q: want YYYY-MM-DD", v))
		}
	}
	if v := get("birth_year"); v != "" {
		y, err := strconv.Atoi(v)
		if err != nil {
			return fail("birth_year", fmt.Errorf("year %q: want digits", v))
		}
		if y != 0 && (y < 1900 || y > time.Now().Year()) {
			return fail("birth_year", fmt.Errorf("year %d out of range", y))
		}
		a.BirthYear = y
	}
	// Normalize de-duplicates phones; its other checks were done above with
	// better column attribution.
	a, nerr := Normalize(a)
	if nerr != nil {
		return fail("", nerr)
	}
	return a, nil
}
