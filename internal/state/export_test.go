package state

// SetBeforeExec sets the hook that runs between a commit's checks and its
// EXEC.
func (s *Store) SetBeforeExec(f func()) { s.beforeExec = f }
