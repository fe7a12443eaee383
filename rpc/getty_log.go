package rpc

import (
	"context"
	"fmt"
	"log/slog"

	getty "github.com/apache/dubbo-getty"
)

// SetGettyLogger sends the logs of dubbo-getty, the transport library under
// this package, to l; nil discards them.
//
// getty logs through one process-wide logger, by default a zap logger that
// writes to stderr at Info level, including a few lines each time a session
// ends. This package never changes that logger by itself: programs, examples
// and tests opt in with this function. getty's Debug and Info messages
// (session lifecycle) are logged at slog.LevelDebug, its Warn and Error
// messages at their own level.
//
// Call it before creating any Client or Server: getty reads the logger
// without synchronisation.
func SetGettyLogger(l *slog.Logger) {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	getty.SetLogger(gettyLogger{l})
}

// gettyLogger adapts a *slog.Logger to getty.Logger.
type gettyLogger struct{ l *slog.Logger }

func (g gettyLogger) log(level slog.Level, format string, args []any) {
	ctx := context.Background()
	if !g.l.Enabled(ctx, level) {
		return
	}
	var msg string
	if format == "" {
		msg = fmt.Sprint(args...)
	} else {
		msg = fmt.Sprintf(format, args...)
	}
	g.l.Log(ctx, level, msg, "lib", "getty")
}

func (g gettyLogger) Debug(args ...any)                 { g.log(slog.LevelDebug, "", args) }
func (g gettyLogger) Info(args ...any)                  { g.log(slog.LevelDebug, "", args) }
func (g gettyLogger) Warn(args ...any)                  { g.log(slog.LevelWarn, "", args) }
func (g gettyLogger) Error(args ...any)                 { g.log(slog.LevelError, "", args) }
func (g gettyLogger) Debugf(format string, args ...any) { g.log(slog.LevelDebug, format, args) }
func (g gettyLogger) Infof(format string, args ...any)  { g.log(slog.LevelDebug, format, args) }
func (g gettyLogger) Warnf(format string, args ...any)  { g.log(slog.LevelWarn, format, args) }
func (g gettyLogger) Errorf(format string, args ...any) { g.log(slog.LevelError, format, args) }
