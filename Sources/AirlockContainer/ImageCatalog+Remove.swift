// Removing an image from the store: the catalog forgets the name (AirlockCore), and the unpacked
// rootfs goes too once no other name points at the same manifest.

public import AirlockCore

extension ImageCatalog {
    /// Removes the named image (by NAME[:TAG]) or, for a digest, every name of that manifest.
    /// Returns what was removed.
    @discardableResult
    public static func remove(_ reference: String, from store: Store) throws -> [ImageRecord] {
        let (removed, orphaned) = try forget(reference, in: store)
        if let orphaned { try ImageRootfs.removeCache(for: orphaned, in: store) }
        return removed
    }
}
