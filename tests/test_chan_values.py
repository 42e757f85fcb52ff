"""Values in a heap channel's buffer (goruntime.chan.HeapChan, Go: chansend/chanrecv):
copied into the buffer slots on the heap, out of them by a receive (which clears the
slot); the hchan's counters follow. The oracle scenario lang_chan_values compares the
liveness and MemStats with Go 1.27.3."""
import pytest

import goruntime as rt


@pytest.fixture
def r():
    with rt.Runtime() as r:
        yield r


Pair = rt.Struct("Pair", p=rt.Ptr(rt.Int), n=rt.Int32, tag=rt.Array(rt.Byte, 3))


def slot_words(r, c, i):
    h = c.hchan
    base = r.heap.read_word(h.addr + 16)
    es = c.elem.size
    return bytes(r.heap.view(base + i * es, es))


def test_values_are_in_the_heap_buffer(r):
    c = rt.make(rt.ChanType(rt.Int), 3)
    h = c.hchan
    assert (h.dataqsiz, h.elemsize, h.qcount) == (3, 8, 0)
    assert r.heap.read_word(h.addr + 16) == h.addr + 112        # buf inside the hchan object
    c.send(7)
    c.send(-2)
    assert (h.qcount, h.sendx, h.recvx) == (2, 2, 0)
    assert slot_words(r, c, 0) == (7).to_bytes(8, "little", signed=True)
    assert slot_words(r, c, 1) == (-2).to_bytes(8, "little", signed=True)
    assert c.recv() == 7
    assert slot_words(r, c, 0) == bytes(8)                      # typedmemclr
    assert (h.qcount, h.sendx, h.recvx) == (1, 2, 1)
    c.send(1)
    c.send(2)                                                   # wraps around
    assert (h.qcount, h.sendx, h.recvx) == (3, 1, 1)
    assert c.buffered() == [-2, 1, 2]
    assert [c.recv() for _ in range(3)] == [-2, 1, 2]
    assert c.try_recv() is None


def test_buffer_alone_keeps_pointers_alive(r):
    T = rt.Struct("Obj", x=rt.Int, pad=rt.Array(rt.Byte, 40))
    c = rt.make(rt.ChanType(rt.Ptr(T)), 4)
    ran = []
    for i in range(3):
        p = rt.new(T)
        p.x = i
        rt.SetFinalizer(p, lambda q: ran.append(q.x))
        c.send(p)
    p = None
    rt.GC()
    rt.Gosched()
    assert ran == []
    assert c.recv().x == 0                 # the received handle is dropped at once
    rt.GC()
    rt.Gosched()
    assert ran == [0]
    c.close()
    rt.GC()
    rt.Gosched()
    assert ran == [0]                      # closing keeps the buffer
    c = None
    rt.GC()
    rt.Gosched()
    assert sorted(ran) == [0, 1, 2]


def test_struct_values_are_copied_in_and_out(r):
    c = rt.make(rt.ChanType(Pair), 2)
    q = rt.new(rt.Int)
    q.value = 11
    src = rt.new(Pair)
    src.p, src.n, src.tag = q, 5, [1, 2, 3]
    c.send(src)                            # copied at the send
    src.n = 99
    c.send({"n": -1})                      # a struct literal; other fields zero
    got = c.recv()
    assert got["n"] == 5 and got["tag"] == [1, 2, 3] and got["p"].value == 11
    assert c.recv() == {"p": None, "n": -1, "tag": [0, 0, 0]}
    c.send(None)                           # the zero value
    assert c.recv() == {"p": None, "n": 0, "tag": [0, 0, 0]}
    holder = rt.new(Pair)
    c.send(src)
    holder.value = c.recv()                # a received struct stores back as a literal
    assert (holder.n, holder.p.value, list(holder.tag)) == (99, 11, [1, 2, 3])


def test_unbuffered_and_zero_size(r):
    c = rt.make(rt.ChanType(Pair), 0)
    out = []
    rt.go(lambda: out.append(c.recv()))
    rt.Gosched()
    src = rt.new(Pair)
    src.n = 4
    c.send(src)                            # handed to the waiting receiver, as a copy
    src.n = 8
    rt.Gosched()
    assert out[0]["n"] == 4
    e = rt.make(rt.ChanType(rt.Struct("Empty")), 2)
    e.send(None)
    e.send({})
    assert len(e) == 2 and e.recv() == {} and e.recv() == {}


def test_closed_channel_gives_the_zero_value(r):
    for T, zero in ((rt.Int, 0), (rt.String, ""), (rt.Ptr(rt.Int), None), (rt.Float64, 0.0),
                    (Pair, {"p": None, "n": 0, "tag": [0, 0, 0]})):
        c = rt.make(rt.ChanType(T), 1)
        c.close()
        assert c.recv2() == (zero, False)
        assert c.try_recv() == (zero, False)
        assert c.hchan.closed == 1
    c = rt.make(rt.ChanType(rt.Int), 0)
    got = []
    rt.go(lambda: got.append(c.recv2()))
    rt.Gosched()
    c.close()
    rt.Gosched()
    assert got == [(0, False)]


def test_bad_sends_change_nothing(r):
    c = rt.make(rt.ChanType(rt.Int8), 2)
    other = rt.make(rt.ChanType(Pair), 2)
    before = rt.ReadMemStats()
    with pytest.raises(OverflowError, match="as int8 value in send"):
        c.send(300)
    with pytest.raises(TypeError, match=r"cannot use \"x\" \(untyped string constant\) as int8 value in send"):
        c.try_send("x")
    with pytest.raises(TypeError, match="unknown field z in struct literal of type Pair"):
        other.send({"z": 1})
    with pytest.raises(OverflowError):
        other.send({"n": 1 << 40})
    with pytest.raises(TypeError):
        rt.select([("send", c, 1.5)])
    assert len(c) == 0 and len(other) == 0
    assert c.hchan.qcount == 0 and other.hchan.qcount == 0
    after = rt.ReadMemStats()
    assert after.Mallocs == before.Mallocs
    with rt.Runtime():
        foreign = rt.new(rt.Int)
    pc = rt.make(rt.ChanType(rt.Ptr(rt.Int)), 1)
    with pytest.raises(ValueError):
        pc.send(foreign)
    assert len(pc) == 0


def test_struct_literal_store(r):
    p = rt.new(Pair)
    q = rt.new(rt.Int)
    p.n = 3
    p.value = {"p": q, "tag": [4, 5, 6]}     # Go: *p = Pair{p: q, tag: ...}; n becomes 0
    assert (p.p == q, p.n, list(p.tag)) == (True, 0, [4, 5, 6])
    with pytest.raises(TypeError, match="unknown field"):
        p.value = {"p": q, "nope": 1}
    with pytest.raises(TypeError):
        p.value = {"n": "x"}
    assert (p.p == q, p.n) == (True, 0)       # a failed store wrote nothing


def test_threads_producer_consumer_with_gcs():
    """Goroutines as threads: the buffer's heap stores and loads under the scheduler lock
    while other threads collect (the lock order is the scheduler's, then the world's)."""
    with rt.Runtime(scheduler="threads", gomaxprocs=2):
        c = rt.make(rt.ChanType(rt.Ptr(rt.Int)), 4)
        done = rt.make(rt.ChanType(rt.Int), 1)
        got = []

        def produce():
            for i in range(200):
                p = rt.new(rt.Int)
                p.value = i
                c.send(p)
                if i % 50 == 0:
                    rt.GC()
            c.close()

        def consume():
            s = 0
            for p in c:
                s += p.value
            done.send(s)

        rt.go(produce)
        rt.go(consume)
        got.append(done.recv())
        assert got == [sum(range(200))]


Req = rt.Struct("chReq", n=rt.Int, reply=rt.ChanType(rt.Int))


def test_channels_stored_in_heap_memory(r):
    """A channel value in a field, slice, map, channel buffer or interface is its hchan's
    address (Go's chan word): the word keeps the hchan and its buffer alive, and reading
    it back gives the same channel, rebuilt from the hchan when Python no longer holds it."""
    CI = rt.ChanType(rt.Int)
    q = rt.new(Req)
    q.reply = rt.make(CI, 2)                    # the Python object is gone at once
    assert r.heap.read_word(q.addr + 8) == q.reply.hchan.addr
    q.reply.send(5)
    q.reply.send(6)
    rt.GC()                                     # only the field holds the hchan
    c = q.reply
    assert (c.cap, len(c), c.recv(), c.recv2()) == (2, 2, 5, (6, True))
    assert q.reply == c and hash(q.reply) == hash(c) and q.reply is c      # held: the same object
    c.close()
    c = None
    assert q.reply.closed and q.reply.recv2() == (0, False)                # rebuilt: closed
    with pytest.raises(rt.Panic):
        q.reply.send(1)

    outs = rt.make(rt.Slice(CI), 3)
    outs[1] = rt.make(CI, 1)
    outs[1].send(9)
    m = rt.make(rt.Map(rt.String, CI))
    m["x"] = outs[1]
    cc = rt.make(rt.ChanType(CI), 1)
    cc.send(m["x"])
    box = rt.new(rt.Any)
    box.value = cc.recv()
    assert outs[0] is None and box.value == outs[1] == m["x"]
    assert box.value.recv() == 9
    outs = m = None
    rt.GC()
    assert box.value.cap == 1                   # the interface alone keeps it

    with pytest.raises(TypeError):
        q.reply = rt.make(rt.ChanType(rt.Int64), 1)         # cannot use chan int64 as chan int
    with pytest.raises(TypeError):
        q.reply = rt.Chan(1)                                # a Python channel has no heap word
    keys = rt.make(rt.Map(CI, rt.Int))                      # channel keys: the hchan address
    k1, k2 = rt.make(CI, 1), rt.make(CI, 2)
    keys[k1], keys[k2] = 1, 2
    assert (keys[k1], keys[k2], len(keys)) == (1, 2, 2)
    del keys[k1]
    k1 = k2 = None
    rt.GC()                                                 # the key alone keeps its hchan
    assert [(k.cap, v) for k, v in keys.items()] == [(2, 2)]
    with pytest.raises(TypeError):
        keys[rt.new(rt.Int)] = 3
    q = box = cc = keys = None
    rt.GC()
    rt.GC()                                     # the *int's tiny block was a root (gcMarkTinyAllocs)
    assert rt.ReadMemStats().HeapObjects == 0


def test_channel_words_under_threads():
    """Goroutines as threads load the same channel word (a request's reply field) at once:
    they agree on one channel object, so a receiver parked on it is woken by the send."""
    Req2 = rt.Struct("chReq2", n=rt.Int, reply=rt.ChanType(rt.Int))
    with rt.Runtime(scheduler="threads"):
        reqs = rt.make(rt.ChanType(rt.Ptr(Req2)), 4)
        total = []

        def server():
            for q in reqs:
                q.reply.send(q.n * 2)

        def client(k):
            for i in range(50):
                q = rt.new(Req2)
                q.n = k * 100 + i
                q.reply = rt.make(rt.ChanType(rt.Int), 0)     # unbuffered: a real hand-off
                reqs.send(q)
                total.append(q.reply.recv())
                if i % 10 == 0:
                    rt.GC()

        wg = rt.WaitGroup()
        rt.go(server)
        for k in range(3):
            wg.Go(client, k)
        wg.Wait()
        reqs.close()
        assert sorted(total) == sorted(2 * (k * 100 + i) for k in range(3) for i in range(50))
