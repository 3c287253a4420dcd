package redistest

import "os"

func requireRedis() bool { return os.Getenv("HOTLINE_REQUIRE_REDIS") != "" }
