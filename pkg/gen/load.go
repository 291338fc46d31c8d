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
	// StreamSize is the most relationships one import stream carries; each stream is one
	// transaction. Zero means 100,000: SpiceDB ends a stream that sends it nothing for 30 s,
	// and an import stream gets no reply until it closes, so a stream must commit well
	// within that on the slowest datastore (PostgreSQL imports about 50,000 a second).
	StreamSize int
	// Progress, when set, receives a progress line every ProgressEvery relationships and a
	// final line with the throughput (stderr in the CLI).
	Progress      io.Writer
	ProgressEvery int // zero means 100,000
}

// LoadStats reports a load.
type LoadStats struct {
	Relationships int
	Batches       int
	Streams       int // import streams, one transaction each
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

// Load streams rels into SpiceDB through the v1 ImportBulkRelationships call, in batches,
// one stream (one transaction, with create semantics) per StreamSize relationships. The
// store must not already hold any of the relationships (load into an empty store); a
// failure keeps the streams committed before it and imports nothing of its own stream.
func Load(ctx context.Context, perms v1.PermissionsServiceClient, rels iter.Seq[*v1.Relationship], o LoadOptions) (LoadStats, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 2000
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 100_000
	}
	if o.StreamSize <= 0 {
		o.StreamSize = 100_000
	}
	start := time.Now()
	var st LoadStats
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stream v1.PermissionsService_ImportBulkRelationshipsClient
	sent, loaded, inStream := 0, 0, 0
	// commit closes the open stream, committing its transaction.
	commit := func() error {
		if stream == nil {
			return nil
		}
		resp, err := stream.CloseAndRecv()
		stream = nil
		if err != nil {
			return fmt.Errorf("bulk import of relationships %d to %d: %w", sent-inStream+1, sent, err)
		}
		if got := int(resp.GetNumLoaded()); got != inStream {
			return fmt.Errorf("bulk import: sent %d relationships in one stream, SpiceDB loaded %d", inStream, got)
		}
		loaded += inStream
		inStream = 0
		st.Streams++
		return nil
	}
	batch := make([]*v1.Relationship, 0, o.BatchSize)
	nextReport := o.ProgressEvery
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if stream == nil {
			var err error
			if stream, err = perms.ImportBulkRelationships(ctx); err != nil {
				return fmt.Errorf("starting the bulk import after %d relationships: %w", sent, err)
			}
		}
		if err := stream.Send(&v1.ImportBulkRelationshipsRequest{Relationships: batch}); err != nil {
			if err == io.EOF {
				// The server ended the stream; the real error comes with CloseAndRecv.
				_, err = stream.CloseAndRecv()
			}
			return fmt.Errorf("bulk import after %d relationships: %w", sent, err)
		}
		sent += len(batch)
		inStream += len(batch)
		st.Batches++
		if inStream+o.BatchSize > o.StreamSize {
			if err := commit(); err != nil {
				return err
			}
		}
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
	if err := commit(); err != nil {
		return st, err
	}
	st.Relationships = loaded
	st.Elapsed = time.Since(start)
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
