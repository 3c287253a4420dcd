package ivr

import "context"

// Recorder is a Switch that records calls: the mixed audio of a bridge
// (every party on it) into a file in the switch's recording store. It is
// optional: callers check for it with a type assertion.
type Recorder interface {
	// RecordBridge starts recording bridgeID under name (letters, digits,
	// '.', '_' and '-' only; no extension: the file is WAV). The switch
	// stores it as <its recording directory>/<name>.wav; the recording
	// ends when StopRecording is called or the bridge is destroyed.
	RecordBridge(ctx context.Context, bridgeID, name string) error
	// StopRecording ends a live recording and keeps its file. A recording
	// that already ended (its bridge is gone) is not an error.
	StopRecording(ctx context.Context, name string) error
}
