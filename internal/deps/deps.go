// Package deps pins the modules the project is built on while the packages
// that use them are written, so `go mod tidy` keeps go.mod stable.
package deps

import (
	_ "github.com/CyCoreSystems/ari/v5"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/rs/zerolog"
	_ "golang.org/x/net/websocket"
	_ "gopkg.in/yaml.v3"
)
