package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
)

// middleware installs, outermost first: request ids (X-Request-Id, taken
// from the request or generated), request logging through slog (after the
// error handler has written the answer, so the logged status is the sent
// one), and panic recovery (a panic becomes a logged 500 problem).
func (s *Server) middleware() {
	s.e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{
		Generator: newRequestID,
	}))
	s.e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		HandleError:  true,
		LogLatency:   true,
		LogMethod:    true,
		LogURI:       true,
		LogStatus:    true,
		LogRequestID: true,
		LogRemoteIP:  true,
		LogValuesFunc: func(c *echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			switch {
			case v.Status >= 500:
				level = slog.LevelError
			case c.Path() == "/healthz" || c.Path() == "/readyz" || c.Path() == "/metrics":
				level = slog.LevelDebug
			}
			s.log.LogAttrs(context.Background(), level, "http request",
				slog.String("method", v.Method),
				slog.String("uri", v.URI),
				slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency),
				slog.String("request_id", v.RequestID),
				slog.String("remote_ip", v.RemoteIP),
			)
			return nil
		},
	}))
	s.e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true}))
}

// newRequestID makes a 128-bit random request id.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// requestID is the request's id (as set by the RequestID middleware).
func requestID(c *echo.Context) string {
	if id := c.Response().Header().Get(echo.HeaderXRequestID); id != "" {
		return id
	}
	return c.Request().Header.Get(echo.HeaderXRequestID)
}
