use super::*;

fn ip(s: &str) -> Option<PeerKey> {
    PeerKey::tcp(s.parse().unwrap())
}

#[test]
fn a_peer_past_its_cap_is_refused_and_a_closed_connection_frees_its_place() {
    let c = Arc::new(Connections::new(2, 1 << 20));
    let a1 = c.admit(ip("10.0.0.1")).unwrap();
    let _a2 = c.admit(ip("10.0.0.1")).unwrap();
    assert_eq!(c.admit(ip("10.0.0.1")).unwrap_err().cap, 2);
    let _b = c.admit(ip("10.0.0.2")).expect("another peer gets in");
    let _p = c.admit(Some(PeerKey::Pid(7))).unwrap();
    drop(a1);
    let _a3 = c.admit(ip("10.0.0.1")).expect("a place freed");
}

#[test]
fn loopback_tcp_peers_are_not_capped() {
    let c = Arc::new(Connections::new(1, 1 << 20));
    assert_eq!(ip("127.0.0.1"), None);
    assert_eq!(ip("::1"), None);
    assert_eq!(ip("::ffff:127.0.0.1"), None);
    let _t: Vec<_> = (0..5).map(|_| c.admit(ip("127.0.0.1")).unwrap()).collect();
}

#[test]
fn past_the_budget_the_largest_unfinished_frames_are_told_to_close() {
    let c = Arc::new(Connections::new(0, 1000));
    let small = c.admit(None).unwrap();
    let big = c.admit(None).unwrap();
    let bigger = c.admit(None).unwrap();
    small.hold(100);
    big.hold(400);
    bigger.hold(450);
    assert_eq!(
        (small.eviction(), big.eviction(), bigger.eviction()),
        (None, None, None)
    );
    // 100 + 400 + 450 + 300 = 1250: the largest (450) goes; 800 fits.
    let new = c.admit(None).unwrap();
    new.hold(300);
    let budget = 1000;
    assert_eq!(
        bigger.eviction(),
        Some(Eviction::FrameBudget { held: 450, budget })
    );
    assert_eq!(
        (small.eviction(), big.eviction(), new.eviction()),
        (None, None, None)
    );
    // What an evicted connection still reports no longer counts.
    bigger.hold(900);
    small.hold(300);
    assert_eq!(big.eviction(), None, "300 + 400 + 300 fits");
    new.hold(301);
    assert_eq!(
        big.eviction(),
        Some(Eviction::FrameBudget { held: 400, budget })
    );
    assert_eq!((small.eviction(), new.eviction()), (None, None));
}

#[test]
fn room_is_made_by_closing_the_oldest_connection_that_completed_nothing() {
    let c = Arc::new(Connections::new(0, 1 << 20));
    let seated = || {
        let t = c.admit(None).unwrap();
        t.seated();
        t
    };
    let producer = seated();
    producer.proven();
    let squatter1 = seated();
    let squatter2 = seated();
    let new1 = seated();
    assert!(new1.make_room());
    assert_eq!(squatter1.eviction(), Some(Eviction::Room));
    assert_eq!((producer.eviction(), squatter2.eviction()), (None, None));
    assert!(new1.make_room());
    assert_eq!(squatter2.eviction(), Some(Eviction::Room));
    assert!(!new1.make_room(), "a connection never evicts itself");
    assert_eq!((producer.eviction(), new1.eviction()), (None, None));
    let new2 = seated();
    assert!(new2.make_room());
    assert_eq!(new1.eviction(), Some(Eviction::Room));
    assert!(!new2.make_room(), "only a proven producer is left");
    assert_eq!(producer.eviction(), None);
}

/// A newcomer still queued for the slot it made room for holds no slot:
/// closing it would free none, and the next newcomer would wait for a slot
/// nobody gives up.
#[test]
fn room_is_made_only_by_connections_holding_a_slot() {
    let c = Arc::new(Connections::new(0, 1 << 20));
    let squatter = c.admit(None).unwrap();
    squatter.seated();
    let queued = c.admit(None).unwrap();
    assert!(queued.make_room());
    assert_eq!(squatter.eviction(), Some(Eviction::Room));
    let next = c.admit(None).unwrap();
    assert!(
        !next.make_room(),
        "a newcomer still queued for a slot was chosen to make room"
    );
    assert_eq!(queued.eviction(), None);
    queued.seated();
    assert!(next.make_room(), "once seated, it may make room");
    assert_eq!(queued.eviction(), Some(Eviction::Room));
}

#[tokio::test]
async fn an_evicted_connection_is_woken() {
    let c = Arc::new(Connections::new(0, 10));
    let t = c.admit(None).unwrap();
    t.seated();
    let wait = tokio::spawn(async move { t.evicted().await });
    c.admit(None).unwrap().hold(5);
    let holder = c.admit(None).unwrap();
    holder.hold(11);
    assert_eq!(
        holder.eviction(),
        Some(Eviction::FrameBudget {
            held: 11,
            budget: 10
        })
    );
    assert!(c.admit(None).unwrap().make_room());
    assert_eq!(wait.await.unwrap(), Eviction::Room);
}
