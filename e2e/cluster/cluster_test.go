//go:build e2ecluster

// Package cluster places real SIP calls (sipp) through Kamailio into two
// Asterisk nodes, each with its controller, sharing one Redis with Sentinel.
// deploy/local/e2e-cluster.sh starts that cluster from deploy/test-cluster
// and runs these tests; `make test` calls it after the single-node suite.
package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline95598/hotline/config"
	"github.com/hotline95598/hotline/kamailio"
)

// node is one Asterisk node with its controller.
type node struct {
	Name, HTTP, ARI, SIP, Run string
}

// cluster is the running test cluster.
type cluster struct {
	Edge      string // Kamailio's SIP address
	Token     string
	Run       string
	EnvDir    string
	Master    string // Sentinel's name of the master
	Sentinels []string
	Password  string            // Redis
	Agents    map[string]string // agents' SIP passwords (HOTLINE_SIP_AGENTS)
	ARIUser   string
	ARIPass   string
	Carrier   string // HOTLINE_CARRIER_CONTACT: where nodes send callbacks
	BReplica  string // node b's controller (HOTLINE_REPLICA_ID)
	A, B      *node
	kam       *kamailio.Client
}

func loadCluster(t *testing.T) *cluster {
	t.Helper()
	run, envDir := os.Getenv("HOTLINE_CLUSTER_RUN"), os.Getenv("HOTLINE_CLUSTER_ENV")
	if run == "" || envDir == "" {
		t.Fatal("HOTLINE_CLUSTER_RUN and HOTLINE_CLUSTER_ENV are not set: run these tests through deploy/local/e2e-cluster.sh")
	}
	c := &cluster{Run: run, EnvDir: envDir}
	read := func(name string) func(string) string {
		f, err := os.Open(filepath.Join(run, "node-"+name+".env")) // merged by cluster.sh
		if err != nil {
			t.Fatalf("the cluster's merged env file: %v", err)
		}
		defer f.Close()
		lookup, err := config.ReadEnvFile(f, nil)
		if err != nil {
			t.Fatal(err)
		}
		return func(k string) string { v, _ := lookup(k); return v }
	}
	for _, name := range []string{"a", "b"} {
		get := read(name)
		n := &node{Name: name, HTTP: "http://" + get("HOTLINE_HTTP_ADDR"), ARI: get("HOTLINE_ARI_URL"),
			SIP: get("HOTLINE_SIP_BIND") + ":" + get("HOTLINE_SIP_PORT"), Run: filepath.Join(run, filepath.Base(run)+"-"+name)}
		if name == "a" {
			c.A = n
			c.Edge, c.Token, c.Master = get("HOTLINE_SIP_EDGE"), get("HOTLINE_API_TOKEN"), get("HOTLINE_REDIS_MASTER")
			c.Sentinels = strings.Split(get("HOTLINE_REDIS_SENTINELS"), ",")
			c.Password = get("HOTLINE_REDIS_PASSWORD")
			c.ARIUser, c.ARIPass = get("HOTLINE_ARI_USER"), get("HOTLINE_ARI_PASSWORD")
			c.Carrier = get("HOTLINE_CARRIER_CONTACT")
			c.Agents = map[string]string{}
			for _, pair := range strings.Split(get("HOTLINE_SIP_AGENTS"), ",") {
				if id, pw, ok := strings.Cut(strings.TrimSpace(pair), ":"); ok {
					c.Agents[id] = pw
				}
			}
			c.kam = kamailio.New(get("HOTLINE_KAMAILIO_RPC"), 2*time.Second)
		} else {
			c.B = n
			c.BReplica = get("HOTLINE_REPLICA_ID")
		}
	}
	return c
}

func (c *cluster) nodes() []*node { return []*node{c.A, c.B} }

func (c *cluster) api(t *testing.T, n *node, method, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, n.HTTP+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s%s: %v", method, n.HTTP, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode
}

type ticket struct{ ID, Type, Phone string }

// tickets lists a phone's tickets as controller n sees them.
func (c *cluster) tickets(t *testing.T, n *node, phone string) []ticket {
	t.Helper()
	var out struct{ Tickets []ticket }
	if code := c.api(t, n, "GET", "/api/v1/tickets?phone="+phone, &out); code != 200 {
		t.Fatalf("tickets of %s on node %s: %d", phone, n.Name, code)
	}
	return out.Tickets
}

// metric reads one sample of a controller's /metrics (0 when absent).
func metric(t *testing.T, n *node, series string) float64 {
	t.Helper()
	resp, err := http.Get(n.HTTP + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v
		}
	}
	return 0
}

type health struct {
	Status string
	Parts  map[string]struct {
		OK     bool
		Detail string
	}
}

func healthOf(n *node) (int, health) {
	var h health
	hc := http.Client{Timeout: 3 * time.Second}
	resp, err := hc.Get(n.HTTP + "/healthz")
	if err != nil {
		return 0, h
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(&h)
	return resp.StatusCode, h
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start)
}

// healthy waits until every controller's /healthz is 200.
func (c *cluster) healthy(t *testing.T, within time.Duration) {
	t.Helper()
	for _, n := range c.nodes() {
		eventually(t, within, "node "+n.Name+"'s controller healthy", func() bool { code, _ := healthOf(n); return code == 200 })
	}
}

// nodeState is the dispatcher's state of node n ("active", "inactive", ...).
func (c *cluster) nodeState(t *testing.T, n *node) string {
	t.Helper()
	nodes, err := c.kam.Nodes(context.Background())
	if err != nil {
		t.Fatalf("kamailio dispatcher.list: %v", err)
	}
	for _, d := range nodes {
		if strings.TrimPrefix(d.URI, "sip:") == n.SIP {
			return d.State
		}
	}
	t.Fatalf("node %s (%s) is not in Kamailio's dispatcher set %+v", n.Name, n.SIP, nodes)
	return ""
}

// clusterCmd runs deploy/local/cluster.sh on the test cluster.
func (c *cluster) clusterCmd(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("../../deploy/local/cluster.sh", args...)
	cmd.Env = append(os.Environ(), "HOTLINE_CLUSTER_ENV="+c.EnvDir, "HOTLINE_CLUSTER_RUN="+c.Run)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cluster.sh %v: %v\n%s", args, err, out)
	}
}

// logMark remembers where a log file ends now; since reads what came after.
type logMark struct {
	path string
	off  int64
}

func mark(path string) logMark {
	st, err := os.Stat(path)
	if err != nil {
		return logMark{path: path}
	}
	return logMark{path: path, off: st.Size()}
}

func (m logMark) since(t *testing.T) string {
	t.Helper()
	f, err := os.Open(m.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(m.off, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(f)
	return string(raw)
}

func pidOf(t *testing.T, file string) int {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return pid
}

// uniquePhone gives each call its own caller number.
func uniquePhone(n int) string {
	return fmt.Sprintf("1371%03d%04d", os.Getpid()%1000, n)
}
