import Glibc
import Testing
import TestSupport
@testable import SockscopeApp

/// The prompt's history holds what was sent: only its owner may read it.
@Suite struct HistoryFileTests {
    func mode(_ path: String) -> mode_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o777 : 0
    }

    @Test func theHistoryFileIsTheOwnersAlone() throws {
        let path = TemporaryPath.make(prefix: "history") + "/state/history"
        CommandHistory.save(["send \"password\""], to: path)
        #expect(mode(path) == 0o600, "a new history file is created mode 600")
        // One left readable by an older version is made private on the next save.
        #expect(chmod(path, 0o644) == 0)
        CommandHistory.save(["send \"password\"", "quit"], to: path)
        #expect(mode(path) == 0o600)
        #expect(LogFile.read(path) == "send \"password\"\nquit\n")
    }
}
