package ledger

// PendingRecords is the number of records whose digests and index keys
// wait in pending blocks.
func (l *Log) PendingRecords() uint64 { return l.pend.Load().records() }

// PendingBlocks is the number of pending blocks.
func (l *Log) PendingBlocks() int { return len(l.pend.Load().blocks) }
