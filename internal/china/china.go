// Package china holds the one time zone the hotline lives in. China has a
// single zone, UTC+8, with no daylight saving: dialing hours, working days,
// spoken times, work-order numbers and the day a queue's counts belong to
// are all China time, whatever the host's TZ says.
package china

import "time"

// Zone is China Standard Time (UTC+8). A fixed zone, so no tzdata is needed
// on the host or in a container image.
var Zone = time.FixedZone("CST", 8*3600)
