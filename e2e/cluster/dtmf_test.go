//go:build e2ecluster

package cluster

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Copied from e2e/dtmf_test.go until the sipp helpers move to a shared
// package (internal/sipp).
//
// The DTMF recordings sipp ships reuse one RTP sequence number and
// timestamp range, so Asterisk takes a second press of any key as a
// duplicate of the first and drops it. We write our own RFC 4733 recordings:
// every press continues the sequence numbers and timestamps of the last.

var (
	dtmfMu   sync.Mutex
	dtmfDir  string
	dtmfSeq  uint16 = 1000
	dtmfTS   uint32 = 160000
	dtmfFile int
)

const dtmfPT = 101 // telephone-event, as offered in the caller's SDP

func dtmfEvent(key rune) (byte, error) {
	switch {
	case key >= '0' && key <= '9':
		return byte(key - '0'), nil
	case key == '*':
		return 10, nil
	case key == '#':
		return 11, nil
	}
	return 0, fmt.Errorf("no DTMF event for %q", key)
}

// dtmfPcap writes a pcap of one key press (about 100 ms of tone) and
// returns its path.
func dtmfPcap(key rune) string {
	ev, err := dtmfEvent(key)
	if err != nil {
		panic(err)
	}
	dtmfMu.Lock()
	defer dtmfMu.Unlock()
	if dtmfDir == "" {
		if dtmfDir, err = os.MkdirTemp("", "hotline-dtmf-"); err != nil {
			panic(err)
		}
	}
	var b bytes.Buffer
	// pcap global header: magic, v2.4, zone 0, sigfigs 0, snaplen, Ethernet.
	binary.Write(&b, binary.LittleEndian, []uint32{0xa1b2c3d4})
	binary.Write(&b, binary.LittleEndian, []uint16{2, 4})
	binary.Write(&b, binary.LittleEndian, []uint32{0, 0, 65535, 1})
	start := time.Unix(1700000000, 0)
	ts := dtmfTS
	packet := func(i int, marker, end bool, duration uint16) {
		rtp := make([]byte, 16)
		rtp[0] = 0x80
		rtp[1] = dtmfPT
		if marker {
			rtp[1] |= 0x80
		}
		binary.BigEndian.PutUint16(rtp[2:], dtmfSeq)
		dtmfSeq++
		binary.BigEndian.PutUint32(rtp[4:], ts)
		binary.BigEndian.PutUint32(rtp[8:], 0x48544c4e) // SSRC "HTLN"
		rtp[12] = ev
		rtp[13] = 10 // volume -10 dBm0
		if end {
			rtp[13] |= 0x80
		}
		binary.BigEndian.PutUint16(rtp[14:], duration)
		frame := ethernetIPv4UDP(rtp)
		at := start.Add(time.Duration(i) * 20 * time.Millisecond)
		binary.Write(&b, binary.LittleEndian, []uint32{uint32(at.Unix()), uint32(at.Nanosecond() / 1000), uint32(len(frame)), uint32(len(frame))})
		b.Write(frame)
	}
	// Four packets while the key is down, then the end packet three times
	// (RFC 4733 §2.5.1.4: the end is sent redundantly).
	for i := 0; i < 4; i++ {
		packet(i, i == 0, false, uint16(160*(i+1)))
	}
	for i := 4; i < 7; i++ {
		packet(i, false, true, 800)
	}
	dtmfTS += 8000 // the next press starts a second later in RTP time
	dtmfFile++
	path := filepath.Join(dtmfDir, fmt.Sprintf("press-%04d-%c.pcap", dtmfFile, key))
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		panic(err)
	}
	return path
}

// ethernetIPv4UDP wraps an RTP packet as sipp expects to read it; sipp sends
// only the UDP payload, from its own media socket.
func ethernetIPv4UDP(payload []byte) []byte {
	var f bytes.Buffer
	f.Write(make([]byte, 12))   // MAC addresses
	f.Write([]byte{0x08, 0x00}) // IPv4
	ip := make([]byte, 20)
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	ip[8] = 64
	ip[9] = 17 // UDP
	copy(ip[12:], []byte{127, 0, 0, 1})
	copy(ip[16:], []byte{127, 0, 0, 1})
	f.Write(ip)
	udp := make([]byte, 8)
	binary.BigEndian.PutUint16(udp[0:], 6000)
	binary.BigEndian.PutUint16(udp[2:], 6002)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload)))
	f.Write(udp)
	f.Write(payload)
	return f.Bytes()
}
