package events

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/nats-io/nats-server/v2/server"
)

// levelTrace is below slog.LevelDebug: the server's protocol traces.
const levelTrace = slog.LevelDebug - 4

// serverLogger sends the embedded nats-server's log lines through slog, so
// one process writes one log stream in one format.
type serverLogger struct{ log *slog.Logger }

var _ server.Logger = serverLogger{}

func (l serverLogger) logf(level slog.Level, format string, v ...any) {
	ctx := context.Background()
	if !l.log.Enabled(ctx, level) {
		return
	}
	l.log.Log(ctx, level, fmt.Sprintf(format, v...))
}

// Noticef logs at debug level: the server's notices (banner, startup
// details, client connections) would drown Tally's own log at info level;
// tally serve reports the server's address itself.
func (l serverLogger) Noticef(format string, v ...any) { l.logf(slog.LevelDebug, format, v...) }
func (l serverLogger) Warnf(format string, v ...any)   { l.logf(slog.LevelWarn, format, v...) }
func (l serverLogger) Errorf(format string, v ...any)  { l.logf(slog.LevelError, format, v...) }
func (l serverLogger) Debugf(format string, v ...any)  { l.logf(slog.LevelDebug, format, v...) }
func (l serverLogger) Tracef(format string, v ...any)  { l.logf(levelTrace, format, v...) }

// Fatalf logs and exits, as the server.Logger contract requires: the server
// calls it only when it cannot continue.
func (l serverLogger) Fatalf(format string, v ...any) {
	l.logf(slog.LevelError+4, format, v...)
	os.Exit(1)
}
