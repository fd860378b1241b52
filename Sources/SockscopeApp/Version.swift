/// sockscope's version, written only here (`sockscope --version` prints it).
public enum SockscopeVersion {
    public static let current = "0.7.0"
}
