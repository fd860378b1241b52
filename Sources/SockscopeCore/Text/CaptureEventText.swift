/// `capture`'s events in every form (`EventText` hands them here), side by side per event.
enum CaptureEventText {
    static func name(of event: CaptureEvent) -> String {
        switch event {
        case .started: "capture-start"
        case .stopped: "capture-done"
        }
    }

    static func describe(_ event: CaptureEvent, _ w: inout EventText.Writer) {
        switch event {
        case .started(let path, let maxBytes):
            let ring = maxBytes.map { " (a ring of at most \(ByteCount.text($0)) on disk)" } ?? ""
            let text = "capturing TCP and UDP to \(DisplayText.escape(string: path))\(ring); UNIX sockets are not captured"
            switch w.form {
            case .sentence: w.sentence = text
            case .line: w.add("capture-start "); w.add(text)
            case .json:
                w.fields.append(("path", .string(path)))
                if let maxBytes { w.fields.append(("max_bytes", .int(maxBytes))) }
            }
        case .stopped(let summary):
            var text = "capture of \(DisplayText.escape(string: summary.path)) done: \(summary.packets) packets, "
                + "\(ByteCount.text(summary.fileBytes)) written"
            if summary.rotations > 0 { text += ", the ring turned \(summary.rotations) time\(summary.rotations == 1 ? "" : "s")" }
            if summary.droppedRecords > 0 {
                text += "; \(summary.droppedRecords) reads/writes (\(ByteCount.text(summary.droppedBytes))) dropped: "
                    + "the disk did not keep up (the file shows the gaps)"
            }
            if let failure = summary.writeFailure { text += "; writing stopped: \(DisplayText.escape(string: failure))" }
            switch w.form {
            case .sentence: w.sentence = text
            case .line: w.add("capture-done "); w.add(text)
            case .json:
                w.fields += [("path", .string(summary.path)), ("packets", .int(summary.packets)),
                             ("file_bytes", .int(summary.fileBytes)), ("dropped", .int(summary.droppedRecords)),
                             ("dropped_bytes", .int(summary.droppedBytes)), ("rotations", .int(summary.rotations))]
                if let failure = summary.writeFailure { w.fields.append(("write_failure", .string(failure))) }
            }
        }
    }
}
