/// Formats timestamps without Foundation (Core does no I/O and needs no locale).
public enum TimeText {
    /// `2026-11-21T17:50:03.123Z`
    public static func iso8601(_ time: Timestamp) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        appendISO8601(time, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `iso8601` appended to `out` as UTF-8.
    static func appendISO8601(_ time: Timestamp, to out: inout [UInt8]) {
        let parts = civil(time)
        // Written digit by digit: every headless line and every visible log row
        // starts with a time, and string interpolation cost ~6k instructions here.
        appendDigits(parts.year, 4, to: &out)
        out.append(0x2D)
        appendDigits(parts.month, 2, to: &out)
        out.append(0x2D)
        appendDigits(parts.day, 2, to: &out)
        out.append(0x54)
        appendClock(parts, to: &out)
        out.append(0x5A)
    }

    /// `2026-11-21` (UTC), for certificate dates.
    public static func date(_ time: Timestamp) -> String {
        let parts = civil(time)
        var out: [UInt8] = []
        appendDigits(parts.year, 4, to: &out)
        out.append(0x2D)
        appendDigits(parts.month, 2, to: &out)
        out.append(0x2D)
        appendDigits(parts.day, 2, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `2026-11-21T17:50:03Z`: a certificate's validity bound, to the second (what it holds).
    public static func seconds(_ time: Timestamp) -> String {
        String(iso8601(time).prefix(19)) + "Z"
    }

    /// `17:50:03.123` (UTC), for log lines.
    public static func clock(_ time: Timestamp) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(12)
        appendClock(civil(time), to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static func appendClock(_ parts: Parts, to out: inout [UInt8]) {
        appendDigits(parts.hour, 2, to: &out)
        out.append(0x3A)
        appendDigits(parts.minute, 2, to: &out)
        out.append(0x3A)
        appendDigits(parts.second, 2, to: &out)
        out.append(0x2E)
        appendDigits(parts.millisecond, 3, to: &out)
    }

    private static func appendDigits(_ value: Int, _ width: Int, to out: inout [UInt8]) {
        ASCIIText.appendDecimal(value, minimumDigits: width, to: &out)
    }

    /// `+12.345s` since `origin`, for relative log times.
    public static func elapsed(from origin: Timestamp, to time: Timestamp) -> String {
        let milliseconds = max(0, (time.nanoseconds - origin.nanoseconds) / 1_000_000)
        return "+\(milliseconds / 1000).\(pad(Int(milliseconds % 1000), 3))s"
    }

    /// A span a person reads at a glance: `45 s`, `3 min 20 s`, `2 h 5 min`.
    public static func duration(_ seconds: Double) -> String {
        let whole = Int(max(0, seconds).rounded(.up))
        if whole < 60 { return "\(whole) s" }
        if whole < 3600 { return "\(whole / 60) min" + (whole % 60 == 0 ? "" : " \(whole % 60) s") }
        return "\(whole / 3600) h" + (whole % 3600 / 60 == 0 ? "" : " \(whole % 3600 / 60) min")
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    private struct Parts { var year, month, day, hour, minute, second, millisecond: Int }

    /// Days-from-civil inverse (Howard Hinnant's algorithm), valid for any Gregorian date.
    private static func civil(_ time: Timestamp) -> Parts {
        let totalMilliseconds = Int(time.nanoseconds / 1_000_000)
        let millisecond = ((totalMilliseconds % 1000) + 1000) % 1000
        let totalSeconds = (totalMilliseconds - millisecond) / 1000
        var days = totalSeconds / 86_400
        var secondsOfDay = totalSeconds % 86_400
        if secondsOfDay < 0 {
            secondsOfDay += 86_400
            days -= 1
        }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return Parts(year: year, month: month, day: day, hour: secondsOfDay / 3600,
                     minute: secondsOfDay % 3600 / 60, second: secondsOfDay % 60, millisecond: millisecond)
    }
}
