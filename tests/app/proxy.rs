//! A TCP proxy between the app and PostgreSQL that a test can cut and
//! restore, to watch the app notice a lost database and recover.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncRead, AsyncWrite, copy_bidirectional};
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::sync::watch;

use crate::helpers::Upstream;

pub struct DbProxy {
    pub port: u16,
    open: Arc<AtomicBool>,
    /// Bumped on every cut: live connections end when it changes.
    generation: watch::Sender<u64>,
}

impl DbProxy {
    pub async fn start(upstream: Upstream) -> DbProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0u64);
        let upstream = Arc::new(upstream);
        let accepting = (open.clone(), generation.clone());
        tokio::spawn(async move {
            let (open, generation) = accepting;
            while let Ok((client, _)) = listener.accept().await {
                if !open.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let cut = generation.subscribe();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    match &*upstream {
                        Upstream::Unix(path) => {
                            if let Ok(server) = UnixStream::connect(path).await {
                                pipe(client, server, cut).await;
                            }
                        }
                        Upstream::Tcp(address) => {
                            if let Ok(server) = TcpStream::connect(address).await {
                                pipe(client, server, cut).await;
                            }
                        }
                    }
                });
            }
        });
        DbProxy {
            port,
            open,
            generation,
        }
    }

    /// Drops every live connection and refuses new ones.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.generation.send_modify(|generation| *generation += 1);
    }

    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

async fn pipe<S>(mut client: TcpStream, mut server: S, mut cut: watch::Receiver<u64>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    tokio::select! {
        _ = copy_bidirectional(&mut client, &mut server) => {}
        _ = cut.changed() => {}
    }
}
