use relu_repair_core::*;
use std::alloc::{GlobalAlloc, Layout as L, System};
use std::sync::atomic::{AtomicUsize, Ordering};
struct Counting;
static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: L) -> *mut u8 {
        let n = NOW.fetch_add(l.size(), Ordering::SeqCst) + l.size();
        PEAK.fetch_max(n, Ordering::SeqCst);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: L) {
        NOW.fetch_sub(l.size(), Ordering::SeqCst);
        System.dealloc(p, l)
    }
}
#[global_allocator]
static A: Counting = Counting;
fn main() {
    let w = Window { kernel: [2, 2], stride: [1, 1], pads: [0; 4], dilation: [1, 1] };
    let conv = Op::Conv(Conv {
        image: [1, 28, 28],
        features: [32, 27, 27],
        window: w,
        groups: 1,
        transposed: false,
        w: (0..128).map(|i| (i as f64 * 0.37).sin()).collect(),
    });
    let pool = Op::AvgPool(AvgPool {
        channels: 32,
        image: [27, 27],
        output: [6, 6],
        window: Window { kernel: [4, 4], stride: [4, 4], pads: [0; 4], dilation: [1, 1] },
        count_include_pad: false,
    });
    let dense = Op::Dense(Dense { n_in: 1152, n_out: 10, w: (0..11520).map(|i| (i as f64 * 0.11).cos()).collect() });
    let t = |from, op| Term { from, op, negate: false };
    let net = Network::from_graph(Graph {
        n_in: 784,
        nodes: vec![
            Node { terms: vec![t(0, conv)], bias: vec![0.1; 23328], relu: true },
            Node { terms: vec![t(1, pool)], bias: vec![0.0; 1152], relu: false },
            Node { terms: vec![t(2, dense)], bias: vec![0.0; 10], relu: false },
        ],
    })
    .unwrap();
    let x: Vec<f64> = (0..784).map(|i| (i as f64 * 0.01).sin().abs()).collect();
    let base = NOW.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let r = LinearRegion::of_point(&net, &x, &vec![-3.0; 784], &vec![3.0; 784]).unwrap();
    println!(
        "rows {} peak extra MB {:.1} live MB {:.1}",
        r.rows(),
        (PEAK.load(Ordering::SeqCst) - base) as f64 / 1048576.0,
        (NOW.load(Ordering::SeqCst) - base) as f64 / 1048576.0
    );
}
