package gen

import (
	"context"
	"fmt"
	"io"
	"iter"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/accessgraph/accessgraph/pkg/spice"
)

// LoadOptions tunes Load.
type LoadOptions struct {
	// BatchSize is how many relationships go in one stream message; zero means 2000.
	BatchSize int
	// Progress, when set, receives a progress line every ProgressEvery relationships and a
	// final line with the throughput (stderr in the CLI).
	Progress      io.Writer
	ProgressEvery int // zero means 100,000
}

// LoadStats reports a load.
type LoadStats struct {
	Relationships int
	Batches       int
	Elapsed       time.Duration
	// Token is a revision at or after the import. The import call returns none, so Load
	// asks for one with a fully consistent check: read with AtLeastAsFresh(Token) (or give
	// it to engine.ObserveToken) to see the imported data, since reads at an older token
	// may be served at a quantized revision from before the import.
	Token *v1.ZedToken
}

// PerSecond is the load's throughput in relationships per second.
func (s LoadStats) PerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Relationships) / s.Elapsed.Seconds()
}

// Load streams rels into SpiceDB through the v1 ImportBulkRelationships call, in batches.
// The import is one transaction with create semantics: the store must not already hold any
// of the relationships (load into an empty store), and a failure imports nothing.
func Load(ctx context.Context, perms v1.PermissionsServiceClient, rels iter.Seq[*v1.Relationship], o LoadOptions) (LoadStats, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 2000
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 100_000
	}
	start := time.Now()
	var st LoadStats
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := perms.ImportBulkRelationships(ctx)
	if err != nil {
		return st, fmt.Errorf("starting the bulk import: %w", err)
	}
	batch := make([]*v1.Relationship, 0, o.BatchSize)
	sent := 0
	nextReport := o.ProgressEvery
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := stream.Send(&v1.ImportBulkRelationshipsRequest{Relationships: batch}); err != nil {
			if err == io.EOF {
				// The server ended the stream; the real error comes with CloseAndRecv.
				_, err = stream.CloseAndRecv()
			}
			return fmt.Errorf("bulk import after %d relationships: %w", sent, err)
		}
		sent += len(batch)
		st.Batches++
		batch = make([]*v1.Relationship, 0, o.BatchSize)
		if o.Progress != nil && sent >= nextReport {
			el := time.Since(start)
			fmt.Fprintf(o.Progress, "imported %d relationships in %s (%.0f/s)\n", sent, el.Round(time.Millisecond), float64(sent)/el.Seconds())
			nextReport += o.ProgressEvery
		}
		return nil
	}
	for r := range rels {
		batch = append(batch, r)
		if len(batch) == o.BatchSize {
			if err := flush(); err != nil {
				return st, err
			}
		}
	}
	if err := flush(); err != nil {
		return st, err
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return st, fmt.Errorf("bulk import of %d relationships: %w", sent, err)
	}
	st.Relationships = int(resp.GetNumLoaded())
	st.Elapsed = time.Since(start)
	if st.Relationships != sent {
		return st, fmt.Errorf("bulk import: sent %d relationships, SpiceDB loaded %d", sent, st.Relationships)
	}
	check, err := perms.CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: spice.FullyConsistent(),
		Resource:    obj("platform", "main"),
		Permission:  "administer",
		Subject:     &v1.SubjectReference{Object: obj("user", "vera")},
	})
	if err != nil {
		return st, fmt.Errorf("reading a revision token after the import: %w", err)
	}
	st.Token = check.GetCheckedAt()
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "imported %d relationships in %s: %.0f relationships/s\n", st.Relationships, st.Elapsed.Round(time.Millisecond), st.PerSecond())
	}
	return st, nil
}
