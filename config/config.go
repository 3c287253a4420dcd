// Package config holds every policy figure and address of the controller.
// Values come from HOTLINE_* environment variables with working defaults; an
// invalid value stops start-up with an error that names the variable.
package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is the controller's whole configuration.
type Config struct {
	HTTPAddr string // HOTLINE_HTTP_ADDR
	APIToken string // HOTLINE_API_TOKEN

	// APITokens come from HOTLINE_TOKENS_FILE: hashed tokens with a role
	// each (see tokens.go). HOTLINE_API_TOKEN stays a single admin token.
	TokensFile string     // HOTLINE_TOKENS_FILE
	APITokens  []APIToken // parsed from TokensFile at load time
	APIRate    float64    // HOTLINE_API_RATE: requests per second per token (or per client address without one)
	APIBurst   int        // HOTLINE_API_BURST: requests allowed at once above the rate

	RedisAddr   string // HOTLINE_REDIS_ADDR
	RedisPrefix string // HOTLINE_REDIS_PREFIX
	Redis       RedisSecurity
	// Sentinel and replication (see redis.go): with sentinels the master
	// is found through them and RedisAddr is not used.
	RedisSentinels      []string      // HOTLINE_REDIS_SENTINELS: host:port,host:port,...
	RedisMaster         string        // HOTLINE_REDIS_MASTER: the master's name in Sentinel
	RedisMinReplicas    int           // HOTLINE_REDIS_MIN_REPLICAS: replicas that must hold a write a caller hears of
	RedisReplicaTimeout time.Duration // HOTLINE_REDIS_REPLICA_TIMEOUT: how long a write waits for them

	// Cluster mode (several Asterisk nodes behind Kamailio; see cluster.go).
	SIPEdge         string        // HOTLINE_SIP_EDGE: Kamailio's SIP address, host[:port]
	AgentDial       string        // HOTLINE_AGENT_DIAL: dial string of an agent's phone, {agent} replaced
	KamailioRPC     string        // HOTLINE_KAMAILIO_RPC: Kamailio's JSON-RPC URL
	KamailioTimeout time.Duration // HOTLINE_KAMAILIO_TIMEOUT: bound of one status question

	ARIURL            string        // HOTLINE_ARI_URL, e.g. http://127.0.0.1:8088/ari
	ARIUser           string        // HOTLINE_ARI_USER
	ARIPassword       string        // HOTLINE_ARI_PASSWORD
	ARIApp            string        // HOTLINE_ARI_APP
	ARIRequestTimeout time.Duration // HOTLINE_ARI_REQUEST_TIMEOUT

	LogLevel string // HOTLINE_LOG_LEVEL

	// Menu policy.
	MenuTimeout       time.Duration // HOTLINE_MENU_TIMEOUT: silence after a prompt before "no input"
	InterDigitTimeout time.Duration // HOTLINE_INTERDIGIT_TIMEOUT: silence between digits of an account number
	MenuMaxFailures   int           // HOTLINE_MENU_MAX_FAILURES: invalid or missing keys before a human agent
	AccountMaxDigits  int           // HOTLINE_ACCOUNT_MAX_DIGITS
	// IVRFile is the menu file (HOTLINE_IVR_FILE; see menus/): "" = the
	// built-in menu. It is loaded, and a broken one refused, at start-up.
	IVRFile string
	// ElderlyVolume is the gain factor (Asterisk VOLUME(TX)) for callers in
	// the elderly service (HOTLINE_ELDERLY_VOLUME): 2 doubles the amplitude;
	// 0 leaves the volume alone.
	ElderlyVolume int

	// Queue policy.
	AgentRingTimeout time.Duration // HOTLINE_AGENT_RING_TIMEOUT: ring one agent this long, then the next
	WrapUp           time.Duration // HOTLINE_WRAP_UP: after-call work before an agent's next call
	AgentTech        string        // HOTLINE_AGENT_TECH: channel technology of agent softphones
	QueuePoll        time.Duration // HOTLINE_QUEUE_POLL: how often a waiting caller looks for a free agent
	MOHClass         string        // HOTLINE_MOH_CLASS
	AgentIDs         []string      // HOTLINE_SIP_AGENTS (ids only; passwords are Asterisk's business)

	// Callbacks: the per-kind windows, attempts and dialing hours are in
	// the policy file; these say how calls are placed.
	CallbackRingTimeout time.Duration // HOTLINE_CALLBACK_RING_TIMEOUT
	CarrierEndpoint     string        // HOTLINE_CARRIER_ENDPOINT: PJSIP endpoint of the carrier side
	CallbackCallerID    string        // HOTLINE_CALLBACK_CALLER_ID

	ShutdownGrace time.Duration // HOTLINE_SHUTDOWN_GRACE
	// SwitchLostAfter: how long the link to Asterisk may be down before this
	// replica takes its calls for lost (HOTLINE_SWITCH_LOST_AFTER).
	SwitchLostAfter time.Duration
	// Work orders: the policy file holds the time limits, ladder and
	// follow-up window; these say how the controller applies it.
	PolicyFile     string        // HOTLINE_POLICY_FILE: "" = the embedded default policy
	EscalationPoll time.Duration // HOTLINE_ESCALATION_POLL: how often overdue tickets are looked for

	// ReplicaID names this controller replica (HOTLINE_REPLICA_ID); it must
	// be stable across restarts and unique among replicas. Default: hostname.
	ReplicaID string

	// PprofAddr is where Go's profiler (net/http/pprof) listens, on a
	// listener of its own, never on the API (HOTLINE_PPROF_ADDR). "" (the
	// default) serves no profiler; only a loopback address is accepted,
	// since a profile shows the process's memory and code to whoever asks.
	PprofAddr string

	// RecordingsDir is where the controller finds the call recordings
	// Asterisk writes (HOTLINE_RECORDINGS_DIR): Asterisk's recording
	// directory (astspooldir/recording), as this host sees it. With several
	// Asterisk nodes it is shared storage every node and replica mounts.
	RecordingsDir string
}

// Defaults returns the configuration a development machine runs with.
func Defaults() Config {
	return Config{
		HTTPAddr:            "127.0.0.1:8080",
		RedisAddr:           "127.0.0.1:6379",
		RedisPrefix:         "hotline:",
		ARIURL:              "http://127.0.0.1:8088/ari",
		ARIUser:             "hotline",
		ARIApp:              "hotline",
		ARIRequestTimeout:   5 * time.Second,
		LogLevel:            "info",
		MenuTimeout:         6 * time.Second,
		InterDigitTimeout:   4 * time.Second,
		MenuMaxFailures:     3,
		AccountMaxDigits:    16,
		ElderlyVolume:       2,
		AgentRingTimeout:    15 * time.Second,
		WrapUp:              15 * time.Second,
		AgentTech:           "PJSIP",
		QueuePoll:           500 * time.Millisecond,
		MOHClass:            "default",
		CallbackRingTimeout: 30 * time.Second,
		CarrierEndpoint:     "carrier",
		CallbackCallerID:    "95598",
		ShutdownGrace:       10 * time.Second,
		SwitchLostAfter:     10 * time.Second,
		ReplicaID:           hostname(),
		EscalationPoll:      30 * time.Second,
		APIRate:             50,
		APIBurst:            200,
		RecordingsDir:       "/var/spool/asterisk/recording",
		RedisReplicaTimeout: time.Second,
		KamailioTimeout:     time.Second,
	}
}

// FromEnv reads the configuration from the process environment.
func FromEnv() (Config, error) { return Load(os.LookupEnv) }

// Load reads the configuration through lookup (os.LookupEnv in production)
// and validates it.
func Load(lookup func(string) (string, bool)) (Config, error) {
	c := Defaults()
	var errs []error
	str := func(name string, dst *string) {
		if v, ok := lookup(name); ok {
			*dst = strings.TrimSpace(v)
		}
	}
	dur := func(name string, dst *time.Duration) {
		if v, ok := lookup(name); ok {
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a duration such as 15s or 10m", name, v))
				return
			}
			*dst = d
		}
	}
	boolean := func(name string, dst *bool) {
		if v, ok := lookup(name); ok {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not true or false", name, v))
				return
			}
			*dst = b
		}
	}
	num := func(name string, dst *int) {
		if v, ok := lookup(name); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a whole number", name, v))
				return
			}
			*dst = n
		}
	}
	str("HOTLINE_HTTP_ADDR", &c.HTTPAddr)
	str("HOTLINE_API_TOKEN", &c.APIToken)
	str("HOTLINE_REDIS_ADDR", &c.RedisAddr)
	str("HOTLINE_REDIS_PREFIX", &c.RedisPrefix)
	str("HOTLINE_REDIS_USERNAME", &c.Redis.Username)
	str("HOTLINE_REDIS_PASSWORD", &c.Redis.Password)
	boolean("HOTLINE_REDIS_TLS", &c.Redis.TLS)
	str("HOTLINE_REDIS_TLS_CA_FILE", &c.Redis.CAFile)
	str("HOTLINE_REDIS_TLS_SERVER_NAME", &c.Redis.ServerName)
	boolean("HOTLINE_REDIS_TLS_INSECURE", &c.Redis.Insecure)
	if v, ok := lookup("HOTLINE_REDIS_SENTINELS"); ok {
		c.RedisSentinels = splitList(v)
	}
	str("HOTLINE_REDIS_MASTER", &c.RedisMaster)
	str("HOTLINE_REDIS_SENTINEL_PASSWORD", &c.Redis.SentinelPassword)
	if _, ok := lookup("HOTLINE_REDIS_MIN_REPLICAS"); ok {
		num("HOTLINE_REDIS_MIN_REPLICAS", &c.RedisMinReplicas)
	} else if len(c.RedisSentinels) > 0 {
		// Sentinel means replicas: a write a caller hears of waits for one.
		c.RedisMinReplicas = 1
	}
	dur("HOTLINE_REDIS_REPLICA_TIMEOUT", &c.RedisReplicaTimeout)
	str("HOTLINE_SIP_EDGE", &c.SIPEdge)
	str("HOTLINE_AGENT_DIAL", &c.AgentDial)
	str("HOTLINE_KAMAILIO_RPC", &c.KamailioRPC)
	dur("HOTLINE_KAMAILIO_TIMEOUT", &c.KamailioTimeout)
	str("HOTLINE_TOKENS_FILE", &c.TokensFile)
	if v, ok := lookup("HOTLINE_API_RATE"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("HOTLINE_API_RATE: %q is not a number of requests per second", v))
		}
		c.APIRate = f
	}
	num("HOTLINE_API_BURST", &c.APIBurst)
	str("HOTLINE_ARI_URL", &c.ARIURL)
	str("HOTLINE_ARI_USER", &c.ARIUser)
	str("HOTLINE_ARI_PASSWORD", &c.ARIPassword)
	str("HOTLINE_ARI_APP", &c.ARIApp)
	dur("HOTLINE_ARI_REQUEST_TIMEOUT", &c.ARIRequestTimeout)
	str("HOTLINE_LOG_LEVEL", &c.LogLevel)
	dur("HOTLINE_MENU_TIMEOUT", &c.MenuTimeout)
	dur("HOTLINE_INTERDIGIT_TIMEOUT", &c.InterDigitTimeout)
	num("HOTLINE_MENU_MAX_FAILURES", &c.MenuMaxFailures)
	num("HOTLINE_ACCOUNT_MAX_DIGITS", &c.AccountMaxDigits)
	str("HOTLINE_IVR_FILE", &c.IVRFile)
	num("HOTLINE_ELDERLY_VOLUME", &c.ElderlyVolume)
	dur("HOTLINE_AGENT_RING_TIMEOUT", &c.AgentRingTimeout)
	dur("HOTLINE_WRAP_UP", &c.WrapUp)
	str("HOTLINE_AGENT_TECH", &c.AgentTech)
	dur("HOTLINE_QUEUE_POLL", &c.QueuePoll)
	str("HOTLINE_MOH_CLASS", &c.MOHClass)
	if v, ok := lookup("HOTLINE_SIP_AGENTS"); ok {
		ids, err := ParseAgents(v)
		if err != nil {
			errs = append(errs, err)
		}
		c.AgentIDs = ids
	}
	dur("HOTLINE_CALLBACK_RING_TIMEOUT", &c.CallbackRingTimeout)
	str("HOTLINE_CARRIER_ENDPOINT", &c.CarrierEndpoint)
	str("HOTLINE_CALLBACK_CALLER_ID", &c.CallbackCallerID)
	dur("HOTLINE_SHUTDOWN_GRACE", &c.ShutdownGrace)
	dur("HOTLINE_SWITCH_LOST_AFTER", &c.SwitchLostAfter)
	str("HOTLINE_REPLICA_ID", &c.ReplicaID)
	str("HOTLINE_POLICY_FILE", &c.PolicyFile)
	dur("HOTLINE_ESCALATION_POLL", &c.EscalationPoll)
	str("HOTLINE_PPROF_ADDR", &c.PprofAddr)
	str("HOTLINE_RECORDINGS_DIR", &c.RecordingsDir)
	c.clusterDefaults()
	if len(errs) == 0 {
		if err := c.Validate(); err != nil {
			errs = append(errs, err)
		} else if c.TokensFile != "" {
			// Read only once the rest is sound: the agent ids it names are
			// checked against HOTLINE_SIP_AGENTS.
			toks, err := LoadTokens(c.TokensFile, c.AgentIDs)
			if err != nil {
				errs = append(errs, fmt.Errorf("HOTLINE_TOKENS_FILE: %w", err))
			}
			c.APITokens = toks
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}

// ParseAgents reads HOTLINE_SIP_AGENTS ("1001:secret,1002:secret") and
// returns the agent ids. The same variable configures Asterisk's endpoints,
// so the controller and the switch always agree on who the agents are.
func ParseAgents(v string) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, pass, ok := strings.Cut(item, ":")
		if !ok || id == "" || pass == "" || !isAgentID(id) {
			return nil, fmt.Errorf("HOTLINE_SIP_AGENTS: %q is not id:password with a numeric or alphanumeric id", item)
		}
		if seen[id] {
			return nil, fmt.Errorf("HOTLINE_SIP_AGENTS: agent %s is listed twice", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	return ids, nil
}

func isAgentID(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_') {
			return false
		}
	}
	return len(s) <= 32
}

// DevAPIToken is the API token of deploy/dev/hotline.env. It is accepted only
// while HOTLINE_HTTP_ADDR is a loopback address.
const DevAPIToken = "dev-token-change-me"

// minPublicTokenLen is the shortest API token accepted when the API listens
// beyond loopback.
const minPublicTokenLen = 24

// sampleARIPasswords are the ARI passwords of the development and test
// stacks, accepted only while HOTLINE_HTTP_ADDR is a loopback address.
var sampleARIPasswords = map[string]bool{"hotline-dev": true, "hotline-test": true}

// isLoopbackHost reports whether host (from HOTLINE_HTTP_ADDR) can only be
// reached from this machine. An empty host means every interface.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Validate checks every figure and address for sense. It also refuses the
// repository's development secrets when the API listens beyond loopback.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	httpHost, _, err := net.SplitHostPort(c.HTTPAddr)
	if err != nil {
		bad("HOTLINE_HTTP_ADDR: %q is not host:port", c.HTTPAddr)
	}
	// Development secrets are tolerated only while the API is reachable from
	// this machine alone; beyond loopback they would open the back office
	// (and, through the ARI password, the switch) to anyone who read the repo.
	public := err == nil && !isLoopbackHost(httpHost)
	switch {
	case c.APIToken == "" && c.TokensFile != "":
		// Tokens from the file only; no single admin token.
	case c.APIToken == "":
		bad("HOTLINE_API_TOKEN: must be set, or HOTLINE_TOKENS_FILE (deploy/dev/hotline.env has a development value)")
	case len(c.APIToken) < 8:
		bad("HOTLINE_API_TOKEN: must be at least 8 characters")
	case public && c.APIToken == DevAPIToken:
		bad("HOTLINE_API_TOKEN: is the development token from deploy/dev/hotline.env, refused because HOTLINE_HTTP_ADDR %q listens beyond loopback; set a random token of at least %d characters", c.HTTPAddr, minPublicTokenLen)
	case public && len(c.APIToken) < minPublicTokenLen:
		bad("HOTLINE_API_TOKEN: must be at least %d characters because HOTLINE_HTTP_ADDR %q listens beyond loopback", minPublicTokenLen, c.HTTPAddr)
	}
	if public && sampleARIPasswords[c.ARIPassword] {
		bad("HOTLINE_ARI_PASSWORD: %q is a sample password from the repository, refused because HOTLINE_HTTP_ADDR %q listens beyond loopback", c.ARIPassword, c.HTTPAddr)
	}
	errs = append(errs, c.validateRedis(), c.validateCluster())
	if c.APIRate <= 0 || c.APIRate > 100000 {
		bad("HOTLINE_API_RATE: %g is outside (0, 100000] requests per second", c.APIRate)
	}
	if c.APIBurst < 1 || c.APIBurst > 100000 {
		bad("HOTLINE_API_BURST: %d is outside 1..100000", c.APIBurst)
	}
	if u, err := url.Parse(c.ARIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("HOTLINE_ARI_URL: %q is not an http(s) URL such as http://127.0.0.1:8088/ari", c.ARIURL)
	}
	if c.ARIUser == "" || c.ARIPassword == "" {
		bad("HOTLINE_ARI_USER and HOTLINE_ARI_PASSWORD: must be set")
	}
	if c.ARIApp == "" {
		bad("HOTLINE_ARI_APP: must be set")
	}
	positive := []struct {
		name string
		d    time.Duration
		min  time.Duration
	}{
		{"HOTLINE_ARI_REQUEST_TIMEOUT", c.ARIRequestTimeout, 100 * time.Millisecond},
		{"HOTLINE_MENU_TIMEOUT", c.MenuTimeout, time.Second},
		{"HOTLINE_INTERDIGIT_TIMEOUT", c.InterDigitTimeout, time.Second},
		{"HOTLINE_AGENT_RING_TIMEOUT", c.AgentRingTimeout, 3 * time.Second},
		{"HOTLINE_QUEUE_POLL", c.QueuePoll, 50 * time.Millisecond},
		{"HOTLINE_CALLBACK_RING_TIMEOUT", c.CallbackRingTimeout, 5 * time.Second},
		{"HOTLINE_SHUTDOWN_GRACE", c.ShutdownGrace, 0},
		{"HOTLINE_WRAP_UP", c.WrapUp, 0},
		{"HOTLINE_ESCALATION_POLL", c.EscalationPoll, 100 * time.Millisecond},
	}
	for _, p := range positive {
		if p.d < p.min {
			bad("%s: %s is below the minimum %s", p.name, p.d, p.min)
		}
	}
	if c.SwitchLostAfter < 2*time.Second || c.SwitchLostAfter > 10*time.Minute {
		// Below a reconnect's backoff a blip would cut callers off; above
		// minutes a dead node's callers wait for nothing.
		bad("HOTLINE_SWITCH_LOST_AFTER: %s is outside 2s..10m", c.SwitchLostAfter)
	}
	if c.MenuMaxFailures < 1 || c.MenuMaxFailures > 10 {
		bad("HOTLINE_MENU_MAX_FAILURES: %d is outside 1..10", c.MenuMaxFailures)
	}
	if c.AccountMaxDigits < 4 || c.AccountMaxDigits > 32 {
		bad("HOTLINE_ACCOUNT_MAX_DIGITS: %d is outside 4..32", c.AccountMaxDigits)
	}
	if c.ElderlyVolume < 0 || c.ElderlyVolume > 4 {
		// More than four times the amplitude only distorts.
		bad("HOTLINE_ELDERLY_VOLUME: %d is outside 0..4", c.ElderlyVolume)
	}
	if c.ReplicaID == "" {
		bad("HOTLINE_REPLICA_ID: must not be empty")
	}
	if c.PprofAddr != "" {
		// The profiler has no authentication: it must not be reachable
		// from anywhere but this machine.
		if host, _, err := net.SplitHostPort(c.PprofAddr); err != nil {
			bad("HOTLINE_PPROF_ADDR: %q is not host:port", c.PprofAddr)
		} else if !isLoopbackHost(host) {
			bad("HOTLINE_PPROF_ADDR: %q is not a loopback address; the profiler has no authentication, so it listens only on 127.0.0.1, ::1 or localhost", c.PprofAddr)
		}
	}
	if err := checkRecordingsDir(c.RecordingsDir); err != nil {
		errs = append(errs, err)
	}
	if c.AgentTech == "" || c.CarrierEndpoint == "" || c.CallbackCallerID == "" || c.MOHClass == "" {
		bad("HOTLINE_AGENT_TECH, HOTLINE_CARRIER_ENDPOINT, HOTLINE_CALLBACK_CALLER_ID and HOTLINE_MOH_CLASS: must not be empty")
	}
	return errors.Join(errs...)
}

// ReadEnvFile parses a KEY=VALUE file (comments with #, optional quotes) into
// a lookup function; variables already in the environment win, so an
// operator can override one value without editing the file.
func ReadEnvFile(r io.Reader, environ func(string) (string, bool)) (func(string) (string, bool), error) {
	vals := map[string]string{}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		s = strings.TrimPrefix(s, "export ")
		k, v, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("line %d: %q is not KEY=VALUE", line, s)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
			v = v[1 : len(v)-1]
		}
		vals[strings.TrimSpace(k)] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read env file: %w", err)
	}
	return func(k string) (string, bool) {
		if environ != nil {
			if v, ok := environ(k); ok {
				return v, true
			}
		}
		v, ok := vals[k]
		return v, ok
	}, nil
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "hotline"
	}
	return h
}

// checkRecordingsDir refuses a recordings directory that cannot be one: an
// empty name, the root, or an existing file. A directory that does not
// exist yet is fine: Asterisk makes it with its first recording.
func checkRecordingsDir(dir string) error {
	clean := filepath.Clean(dir)
	switch {
	case strings.TrimSpace(dir) == "":
		return errors.New("HOTLINE_RECORDINGS_DIR: must not be empty (Asterisk's recording directory, e.g. /var/spool/asterisk/recording)")
	case clean == "/" || clean == ".":
		return fmt.Errorf("HOTLINE_RECORDINGS_DIR: %q cannot be the recordings directory: the sweep deletes old files in it", dir)
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return fmt.Errorf("HOTLINE_RECORDINGS_DIR: %q is a file, not a directory", dir)
	}
	return nil
}
