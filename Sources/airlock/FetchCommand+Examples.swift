// Kept apart from FetchCommand.swift, whose discussion changes with the HTTP client.
extension FetchCommand {
    static let examples = Example.section([
        Example("Download every file app/airlock.lock names into ./mirror", "airlock fetch --project app"),
        Example(
            "Into a shared store, 16 downloads at a time",
            "airlock fetch --project app --store /srv/airlock --jobs 16"
        ),
    ])
}
