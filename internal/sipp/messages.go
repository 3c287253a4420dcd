package sipp

import (
	"fmt"
	"strings"
)

// The SIP messages of the scenarios, each shape written once.

// ourVia is the Via of a request this side starts.
const ourVia = "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]"

// request is a SIP request a scenario sends. Header lines are whole lines
// ("To: <…>", or sipp's "[last_To:]").
type request struct {
	method  string
	uri     string
	via     string // "" for ourVia
	from    string
	to      string
	cseq    int
	contact string // the Contact URI, "" for none
	extra   string // more header lines (credentials, Expires), each ending in \n
	sdp     string // a body: the offer of an INVITE
	once    bool   // sent once (an ACK), not retransmitted until answered
}

func (r request) String() string {
	var b strings.Builder
	if r.once {
		b.WriteString("<send><![CDATA[\n")
	} else {
		b.WriteString(`<send retrans="500"><![CDATA[` + "\n")
	}
	via := r.via
	if via == "" {
		via = ourVia
	}
	fmt.Fprintf(&b, "%s %s SIP/2.0\n%s\n%s\n%s\nCall-ID: [call_id]\nCSeq: %d %s\n", r.method, r.uri, via, r.from, r.to, r.cseq, r.method)
	if r.contact != "" {
		fmt.Fprintf(&b, "Contact: <%s>\n", r.contact)
	}
	b.WriteString(r.extra)
	b.WriteString("Max-Forwards: 70\n")
	writeBody(&b, r.sdp)
	return b.String()
}

// writeBody ends a message: its body (SDP) or none, and the CDATA.
func writeBody(b *strings.Builder, sdp string) {
	if sdp == "" {
		b.WriteString("Content-Length: 0\n\n]]></send>\n")
		return
	}
	b.WriteString("Content-Type: application/sdp\nContent-Length: [len]\n\n" + sdp + "\n]]></send>\n")
}

// reply is a SIP response to the request just received.
type reply struct {
	status  string
	toTag   bool   // this side's tag on To: a final or ringing answer to an INVITE
	contact bool   // our Contact
	cseq    string // a whole CSeq line instead of [last_CSeq:] (the 487 after a CANCEL)
	sdp     string // a body: the answer to an INVITE's offer
	retrans bool   // retransmitted until acknowledged (a 200 OK to an INVITE)
}

func (r reply) String() string {
	var b strings.Builder
	if r.retrans {
		b.WriteString(`<send retrans="500"><![CDATA[` + "\n")
	} else {
		b.WriteString("<send><![CDATA[\n")
	}
	fmt.Fprintf(&b, "SIP/2.0 %s\n[last_Via:]\n[last_From:]\n[last_To:]", r.status)
	if r.toTag {
		b.WriteString(";tag=[pid]SIPpTag01[call_number]")
	}
	b.WriteString("\n[last_Call-ID:]\n")
	if r.cseq != "" {
		b.WriteString(r.cseq + "\n")
	} else {
		b.WriteString("[last_CSeq:]\n")
	}
	if r.contact {
		b.WriteString("Contact: <sip:[local_ip]:[local_port]>\n")
	}
	writeBody(&b, r.sdp)
	return b.String()
}

// sdp is an audio offer or answer: A-law (8), µ-law (0) if listed, and
// RFC 4733 events (101).
func sdp(origin, payloads string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\no=%s 53655765 2353687637 IN IP[local_ip_type] [local_ip]\ns=-\nc=IN IP[media_ip_type] [media_ip]\nt=0 0\n", origin)
	fmt.Fprintf(&b, "m=audio [media_port] RTP/AVP %s\na=rtpmap:8 PCMA/8000\n", payloads)
	if strings.Contains(" "+payloads+" ", " 0 ") {
		b.WriteString("a=rtpmap:0 PCMU/8000\n")
	}
	b.WriteString("a=rtpmap:101 telephone-event/8000\na=fmtp:101 0-15\na=sendrecv\n")
	return b.String()
}

// header opens a scenario, with the comment of a file people read.
func header(name string) string {
	return `<?xml version="1.0" encoding="ISO-8859-1" ?>
{{if .Comment}}<!-- {{.Comment}} -->
{{end}}<scenario name="` + name + `">
`
}

// script appends the steps and the Tail.
func script(head string, steps []Step) string {
	var b strings.Builder
	b.WriteString(head)
	for _, s := range steps {
		b.WriteString(string(s))
		b.WriteString("\n")
	}
	b.WriteString(Tail)
	return b.String()
}
