package api

// routes registers every route. A feature adds its handlers in its own file
// and its registrations here.
func (s *Server) routes() {
	e := s.e

	// Operations.
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", s.metrics())

	// Submissions (submissions.go).
	e.POST("/v1/submissions", s.postSubmission)

	// The log (entries.go, proofs.go).
	e.GET("/v1/entries", s.listEntries)
	e.GET("/v1/entries/:seq", s.getEntry)
	e.GET("/v1/checkpoint", s.getCheckpoint)
	e.GET("/v1/proofs/inclusion", s.inclusionProof)
	e.GET("/v1/proofs/consistency", s.consistencyProof)
}
