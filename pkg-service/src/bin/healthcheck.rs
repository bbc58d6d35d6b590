//! `healthcheck PORT [PATH]`: exit 0 if `GET http://127.0.0.1:PORT/PATH` (default `/health`)
//! answers 2xx within two seconds, else 1.
//!
//! Standard library only, built statically in the image, so container health checks need no
//! shell, curl or wget — in our distroless-style images or anyone else's.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(port), path) = (args.next(), args.next().unwrap_or_else(|| "/health".into())) else {
        eprintln!("usage: healthcheck PORT [PATH]");
        return ExitCode::from(2);
    };
    let Ok(port) = port.parse::<u16>() else {
        eprintln!("healthcheck: {port:?} is not a port");
        return ExitCode::from(2);
    };
    match probe(SocketAddr::from(([127, 0, 0, 1], port)), &path) {
        Ok(status) if (200..300).contains(&status) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("healthcheck: {path} answered {status}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("healthcheck: {path}: {error}");
            ExitCode::FAILURE
        }
    }
}

fn probe(addr: SocketAddr, path: &str) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head)?;
    // "HTTP/1.1 200 OK": the status is the second word of the first line.
    std::str::from_utf8(&head[..n])
        .ok()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response"))
}
