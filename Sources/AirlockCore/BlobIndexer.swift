// What the store learns from a blob's content once the blob is in: a wheel's METADATA, say, read
// once when the wheel is fetched or imported and kept in the index, so the readers (the mirror)
// never open the blob for it. Indexers are handed in by whoever wires the domains together
// (the CLI), so the bundle importer knows nothing of wheels.

/// Called after entries were committed to the store. A blob an indexer cannot read is skipped: the
/// import or fetch has already succeeded, and the reader falls back to the blob itself.
public protocol BlobIndexer: Sendable {
    func index(_ entries: [BlobEntry], in store: Store)
}
