package main

// sipp scenarios of the benchmark. Every step that matters logs the
// caller's number and the wall clock (gettimeofday), so caller and agent
// logs can be joined per call afterwards.

// registerXML registers one agent (-s ID -ap PASSWORD) from the port the
// agents' UAS then listens on. (sipp 3.6 cannot take the digest user name
// from an injection file, hence a run per agent.)
const registerXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register">
<send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[service]@[remote_ip]>;tag=[pid]reg[call_number]
To: <sip:[service]@[remote_ip]>
Call-ID: [call_id]
CSeq: 1 REGISTER
Contact: <sip:[service]@[local_ip]:[local_port]>
Expires: 3600
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="401" auth="true"/>
<send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[service]@[remote_ip]>;tag=[pid]reg[call_number]
To: <sip:[service]@[remote_ip]>
Call-ID: [call_id]
CSeq: 2 REGISTER
Contact: <sip:[service]@[local_ip]:[local_port]>
[authentication]
Expires: 3600
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>
</scenario>
`

// callerXML dials [service] from the number in the injection file, presses
// the key after the welcome has started, plays a few seconds of speech
// and waits for the hang-up that follows the agent's.
const callerXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="caller">
<nop><action><gettimeofday assign_to="s0,u0"/><log message="inv [field0] [$s0] [$u0]"/></action></nop>
<send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:[field0]@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=caller 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv

]]></send>
<recv response="100" optional="true"/>
<recv response="180" optional="true"/>
<recv response="183" optional="true"/>
<recv response="200"><action><gettimeofday assign_to="s1,u1"/><log message="ans [field0] [$s1] [$u1]"/></action></recv>
<send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: <sip:[field0]@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

]]></send>
<pause milliseconds="{{.KeyAfterMS}}"/>
<nop><action><gettimeofday assign_to="s2,u2"/><log message="key [field0] [$s2] [$u2]"/><exec play_pcap_audio="{{.DTMFPcap}}"/></action></nop>
<pause milliseconds="{{.SpeakAfterMS}}"/>
<nop><action><exec play_pcap_audio="{{.SpeechPcap}}"/></action></nop>
<recv request="BYE" timeout="{{.ByeTimeoutMS}}"><action><gettimeofday assign_to="s3,u3"/><log message="bye [field0] [$s3] [$u3]"/></action></recv>
<send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port]>
Content-Length: 0

]]></send>
<ResponseTimeRepartition value="100, 500, 1000"/>
</scenario>
`

// agentXML is every agent's softphone: it rings, answers, echoes the
// caller's audio (-rtp_echo), talks a while and hangs up.
const agentXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="agent">
<recv request="INVITE" crlf="true"><action>
<gettimeofday assign_to="s0,u0"/>
<ereg regexp="[0-9]{11}" search_in="hdr" header="From:" assign_to="phone"/>
<ereg regexp=".*" search_in="hdr" header="From:" assign_to="from"/>
<ereg regexp="sip:[^>;]*" search_in="hdr" header="Contact:" assign_to="contact"/>
<log message="ring [$phone] [$s0] [$u0]"/>
</action></recv>
<send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port]>
Content-Length: 0

]]></send>
<pause milliseconds="{{.AnswerAfterMS}}"/>
<send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=agent 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 0 101
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv

]]></send>
<recv request="ACK" crlf="true"><action><gettimeofday assign_to="s1,u1"/><log message="talk [$phone] [$s1] [$u1]"/></action></recv>
<pause milliseconds="{{.TalkMS}}"/>
<send retrans="500"><![CDATA[
BYE [$contact] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:agent@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To: [$from]
Call-ID: [call_id]
CSeq: 1 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>
</scenario>
`
