package grpcsvc

// AssignedTo counts the jobs currently assigned to the worker registered
// as id: what that worker holds. For tests of the hostile-worker bound.
func AssignedTo(s *Server, id string) int { return s.d.AssignedTo(id) }

// Declined reports whether the dispatcher waits with a job because no
// connected worker may take it, having seen every change of the workers.
func Declined(s *Server) bool { return s.d.Workers().Declined() }
