// Text as HTML, for the pages Airlock writes (the mirror's index pages, the audit report): one
// escape for element content and attribute values alike.

public enum HTMLText {
    /// `&`, `<`, `>`, `"` and `'` as entities; everything else as it is.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
