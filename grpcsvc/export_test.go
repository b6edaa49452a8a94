package grpcsvc

// AssignedTo counts the jobs currently assigned to the worker registered
// as id: what that worker holds. For tests of the hostile-worker bound.
func AssignedTo(s *Server, id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range s.assigned {
		if a.worker.ID == id {
			n++
		}
	}
	return n
}
