/// A first-in, first-out buffer that keeps at most `capacity` elements,
/// dropping the oldest. O(1) append and indexed access.
public struct RingBuffer<Element> {
    public let capacity: Int
    private var storage: [Element] = []
    private var head = 0

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.isEmpty }

    /// Appends, returning the element that was dropped to make room, if any.
    @discardableResult
    public mutating func append(_ element: Element) -> Element? {
        if storage.count < capacity {
            storage.append(element)
            return nil
        }
        let dropped = storage[head]
        storage[head] = element
        head = (head + 1) % capacity
        return dropped
    }

    /// Removes and returns the oldest element.
    @discardableResult
    public mutating func removeFirst() -> Element? {
        guard !storage.isEmpty else { return nil }
        // Rotate into order once; removal of the oldest is rare (only under a byte budget).
        if head != 0 {
            storage = Array(storage[head...] + storage[..<head])
            head = 0
        }
        return storage.removeFirst()
    }

    /// The element at `index`, 0 being the oldest.
    public subscript(index: Int) -> Element {
        get { storage[(head + index) % storage.count] }
        set { storage[(head + index) % storage.count] = newValue }
    }

    public var last: Element? { storage.isEmpty ? nil : self[storage.count - 1] }
}

extension RingBuffer: Sendable where Element: Sendable {}
