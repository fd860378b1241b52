import SockscopeCore

/// The scan view: the latest scan's ports (open ones one by one, the rest in runs), drawn
/// over the body while it is shown, as the system view is. Banners come from the network
/// and are escaped before they get here.
enum ScanPane {
    static func draw(_ state: AppState, in grid: inout CellGrid, _ layout: Layout) {
        let body = Rect(x: 0, y: layout.status.height, width: grid.width,
                        height: max(0, grid.height - layout.status.height - layout.footer.height))
        guard body.height > 0, body.width > 0 else { return }
        grid.clear(body)
        let scan = state.scan
        let rows = scan.shownRows
        var area = PaneFrame.draw(in: &grid, body, title: title(scan, shown: rows.count), focused: true)
        if scan.isRunning, scan.portCount > 0, area.height > 1 {
            // While it runs: how far it is, over the ports as they come in.
            let fraction = Double(scan.answered) / Double(scan.portCount)
            let text = " \(Int(fraction * 100))%  \(scan.answered) of \(scan.portCount) ports"
            let barWidth = max(0, min(40, area.width - TextWidth.columns(of: text)))
            let used = grid.put(ProgressBar.text(fraction, width: barWidth, glyphs: state.view.glyphs), x: area.x, y: area.y,
                                maxWidth: area.width, role: .info)
            grid.put(text, x: area.x + used, y: area.y, maxWidth: area.width - used, role: .dim)
            area = Rect(x: area.x, y: area.y + 1, width: area.width, height: area.height - 1)
        }
        if scan.rows.isEmpty {
            let waiting = scan.summary == nil ? "Scanning: no answers yet..." : "No ports answered."
            grid.put(waiting, x: area.x, y: area.y, maxWidth: area.width, role: .dim)
            return
        }
        let tableRows = rows.map { row in
            TableView.Row(cells: row.cells, role: row.state == .open ? .info : .dim)
        }
        TableView(columns: [
            .init(header: "PORTS", priority: 0), .init(header: "COUNT", priority: 2), .init(header: "STATE", priority: 0),
            .init(header: "WHY", priority: 1), .init(header: "SAID FIRST", priority: 3, elidable: true),
        ], rows: tableRows, selected: rows.isEmpty ? nil : scan.selected, focused: true).draw(in: &grid, area)
    }

    /// `Scan 127.0.0.1: 812/1024 ports, 3 open, running  / filters, Enter/c connects, P/Esc hides`
    static func title(_ scan: ScanState, shown: Int) -> String {
        let target = scan.start?.addressText ?? DisplayText.escape(string: scan.host ?? "")
        var title = "Scan \(target): \(scan.answered)/\(scan.portCount) ports, \(scan.openCount) open"
        if let summary = scan.summary {
            let seconds = summary.elapsedSecondsText
            title += summary.stopped ? ", stopped after \(seconds) s" : ", done in \(seconds) s"
        } else if scan.isRunning {
            title += ", running"
        }
        if let filter = scan.filter { title += ", filter \"\(DisplayText.escape(string: filter))\" (\(shown) rows)" }
        return title + "  / filters, Enter/c connects, P/Esc hides"
    }
}
