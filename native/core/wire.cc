// The socket of one connection (see wire.h): non-blocking TCP connect over every resolved
// address, TLS through OpenSSL (system CA store by default, host-name check, TLS >= 1.2),
// frame splitting and method decoding for reads, batched non-blocking writes.
#include "core/wire.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kazoo::core {
namespace {

constexpr size_t kReadChunk = 128 * 1024;
constexpr int kReadsPerCall = 8;

uint16_t get16(const char* p) {
  return static_cast<uint16_t>((static_cast<uint8_t>(p[0]) << 8) | static_cast<uint8_t>(p[1]));
}
uint32_t get32(const char* p) { return (static_cast<uint32_t>(get16(p)) << 16) | get16(p + 2); }
uint64_t get64(const char* p) { return (static_cast<uint64_t>(get32(p)) << 32) | get32(p + 4); }

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

void tune_socket(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // Keepalive on every socket: a peer that vanished without a FIN is noticed even with AMQP
  // heartbeats off (the module's default).
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  int idle = 30, interval = 10, count = 3;
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

}  // namespace

Wire::Wire() { init_amqp_pool(&pool_, 4096); }

Wire::~Wire() {
  close();
  empty_amqp_pool(&pool_);
}

void Wire::close() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (ssl_ctx_ != nullptr) {
    SSL_CTX_free(ssl_ctx_);
    ssl_ctx_ = nullptr;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (addresses_ != nullptr) freeaddrinfo(addresses_);
  addresses_ = next_address_ = nullptr;
  phase_ = Phase::Closed;
  in_start_ = in_end_ = 0;
  out_.clear();
  out_sent_ = 0;
  sent_total_ = 0;
  frame_max_ = 131072;
}

bool Wire::start(const ConnectionOptions& options, std::string* reason) {
  close();
  options_ = &options;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  std::string port = std::to_string(options.port);
  int rc = getaddrinfo(options.host.c_str(), port.c_str(), &hints, &addresses_);
  if (rc != 0) {
    *reason = std::string("cannot resolve host: ") + gai_strerror(rc);
    addresses_ = nullptr;
    return false;
  }
  next_address_ = addresses_;
  last_error_ = "no address";
  return try_next_address(reason);
}

bool Wire::try_next_address(std::string* reason) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  while (next_address_ != nullptr) {
    addrinfo* a = next_address_;
    next_address_ = a->ai_next;
    fd_ = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd_ < 0) {
      last_error_ = std::strerror(errno);
      continue;
    }
    tune_socket(fd_);
    if (connect(fd_, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
      phase_ = Phase::Connecting;
      return true;
    }
    last_error_ = std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
  }
  *reason = last_error_;
  phase_ = Phase::Closed;
  return false;
}

short Wire::poll_events() const {
  switch (phase_) {
    case Phase::Connecting: return POLLOUT;
    case Phase::Handshaking: return handshake_wants_write_ ? POLLOUT : POLLIN;
    case Phase::Open: return static_cast<short>(output_pending() ? (POLLIN | POLLOUT) : POLLIN);
    case Phase::Closed: break;
  }
  return 0;
}

bool Wire::advance(short revents, std::string* reason) {
  if (phase_ == Phase::Connecting) {
    if (revents == 0) return true;
    int error = 0;
    socklen_t len = sizeof error;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0) {
      last_error_ = std::strerror(error);
      return try_next_address(reason);
    }
    if (options_->tls) return begin_tls(reason);
    phase_ = Phase::Open;
    return true;
  }
  if (phase_ == Phase::Handshaking) return continue_handshake(reason);
  return true;
}

bool Wire::begin_tls(std::string* reason) {
  ssl_ctx_ = SSL_CTX_new(TLS_client_method());
  if (ssl_ctx_ == nullptr) {
    *reason = "TLS setup failed: " + openssl_error();
    return false;
  }
  SSL_CTX_set_min_proto_version(ssl_ctx_, TLS1_2_VERSION);
  SSL_CTX_set_verify(ssl_ctx_, options_->verify_peer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (options_->ca_cert.empty()) {
    // No amqps_ca_cert: the system's CA store, as any TLS client would.
    SSL_CTX_set_default_verify_paths(ssl_ctx_);
  } else if (SSL_CTX_load_verify_locations(ssl_ctx_, options_->ca_cert.c_str(), nullptr) != 1) {
    *reason = "cannot load amqps_ca_cert (" + openssl_error() + ")";
    return false;
  }
  if (!options_->cert.empty() && !options_->key.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ssl_ctx_, options_->cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ssl_ctx_, options_->key.c_str(), SSL_FILETYPE_PEM) != 1) {
      *reason = "cannot load amqps_cert / amqps_key (" + openssl_error() + ")";
      return false;
    }
  }
  ssl_ = SSL_new(ssl_ctx_);
  if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1) {
    *reason = "TLS setup failed: " + openssl_error();
    return false;
  }
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  in6_addr ip6;
  in_addr ip4;
  const bool is_ip =
      inet_pton(AF_INET, options_->host.c_str(), &ip4) == 1 || inet_pton(AF_INET6, options_->host.c_str(), &ip6) == 1;
  if (!is_ip) SSL_set_tlsext_host_name(ssl_, options_->host.c_str());
  if (options_->verify_peer && options_->verify_hostname) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, options_->host.c_str())
                   : X509_VERIFY_PARAM_set1_host(param, options_->host.c_str(), 0);
    if (ok != 1) {
      *reason = "TLS setup failed: cannot set the expected host name";
      return false;
    }
  }
  phase_ = Phase::Handshaking;
  handshake_wants_write_ = true;
  return continue_handshake(reason);
}

bool Wire::continue_handshake(std::string* reason) {
  ERR_clear_error();
  int rc = SSL_connect(ssl_);
  if (rc == 1) {
    phase_ = Phase::Open;
    return true;
  }
  int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    handshake_wants_write_ = err == SSL_ERROR_WANT_WRITE;
    return true;
  }
  long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) {
    const char* what = verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH
                           ? "the server certificate does not match the host name"
                           : "the server certificate is not trusted";
    *reason = std::string("TLS handshake failed: ") + what + " (" + X509_verify_cert_error_string(verify) + ")";
  } else if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
    *reason = "TLS handshake failed: connection closed by peer";
  } else {
    *reason = "TLS handshake failed: " + openssl_error();
  }
  return false;
}

ssize_t Wire::raw_recv(char* buf, size_t len, std::string* reason) {
  if (ssl_ == nullptr) {
    ssize_t n = recv(fd_, buf, len, 0);
    if (n > 0) return n;
    if (n == 0) {
      *reason = "connection closed by the broker";
      return -1;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    *reason = std::string("recv failed: ") + std::strerror(errno);
    return -1;
  }
  ERR_clear_error();
  int n = SSL_read(ssl_, buf, static_cast<int>(len));
  if (n > 0) return n;
  int err = SSL_get_error(ssl_, n);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return 0;
  *reason = err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
                ? std::string("connection closed by the broker")
                : "TLS read failed: " + openssl_error();
  return -1;
}

ssize_t Wire::raw_send(const char* buf, size_t len, std::string* reason) {
  if (ssl_ == nullptr) {
    ssize_t n = send(fd_, buf, len, MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    *reason = std::string("send failed: ") + std::strerror(errno);
    return -1;
  }
  ERR_clear_error();
  int n = SSL_write(ssl_, buf, static_cast<int>(std::min<size_t>(len, 1 << 20)));
  if (n > 0) return n;
  int err = SSL_get_error(ssl_, n);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return 0;
  *reason = "TLS write failed: " + openssl_error();
  return -1;
}

bool Wire::pending_input() const { return ssl_ != nullptr && SSL_pending(ssl_) > 0; }

bool Wire::read(const std::function<void(const InFrame&)>& on_frame, std::string* reason) {
  if (phase_ != Phase::Open) return true;
  for (int i = 0; i < kReadsPerCall; ++i) {
    if (in_start_ == in_end_) in_start_ = in_end_ = 0;
    if (in_buf_.size() - in_end_ < kReadChunk) {
      if (in_start_ > 0) {
        std::memmove(in_buf_.data(), in_buf_.data() + in_start_, in_end_ - in_start_);
        in_end_ -= in_start_;
        in_start_ = 0;
      }
      if (in_buf_.size() - in_end_ < kReadChunk) in_buf_.resize(in_end_ + kReadChunk);
    }
    const size_t room = in_buf_.size() - in_end_;
    ssize_t n = raw_recv(in_buf_.data() + in_end_, room, reason);
    if (n < 0) return false;
    if (n == 0) break;
    in_end_ += static_cast<size_t>(n);
    if (!parse_frames(on_frame, reason)) return false;
    if (static_cast<size_t>(n) < room && !pending_input()) break;
  }
  return true;
}

bool Wire::parse_frames(const std::function<void(const InFrame&)>& on_frame, std::string* reason) {
  while (in_end_ - in_start_ >= 8) {
    const char* p = in_buf_.data() + in_start_;
    if (std::memcmp(p, "AMQP", 4) == 0) {
      *reason = "the broker does not speak AMQP 0-9-1";
      return false;
    }
    const uint32_t size = get32(p + 3);
    if (size > frame_max_ + 8u && size > 131072u) {
      *reason = "frame larger than frame_max from the broker";
      return false;
    }
    if (in_end_ - in_start_ < size + 8u) break;
    if (static_cast<uint8_t>(p[7 + size]) != 0xCE) {
      *reason = "bad frame end marker from the broker";
      return false;
    }
    InFrame frame;
    frame.type = static_cast<uint8_t>(p[0]);
    frame.channel = get16(p + 1);
    const char* payload = p + 7;
    bool ok = true;
    if (frame.type == AMQP_FRAME_METHOD && size >= 4) {
      frame.method = (static_cast<uint32_t>(get16(payload)) << 16) | get16(payload + 2);
      amqp_bytes_t args{size - 4, const_cast<char*>(payload + 4)};
      if (amqp_decode_method(frame.method, &pool_, args, &frame.decoded) != AMQP_STATUS_OK) {
        *reason = std::string("cannot decode ") + amqp_method_name(frame.method) + " from the broker";
        ok = false;
      }
    } else if (frame.type == AMQP_FRAME_HEADER && size >= 12) {
      frame.body_size = get64(payload + 4);
    } else if (frame.type == AMQP_FRAME_BODY) {
      frame.body = std::string_view(payload, size);
    }
    in_start_ += size + 8u;
    if (!ok) return false;
    if (frame.type == AMQP_FRAME_METHOD || frame.type == AMQP_FRAME_HEADER || frame.type == AMQP_FRAME_BODY ||
        frame.type == AMQP_FRAME_HEARTBEAT)
      on_frame(frame);
    if (frame.type == AMQP_FRAME_METHOD) recycle_amqp_pool(&pool_);
    if (phase_ != Phase::Open) return true;  // the handler closed the wire
  }
  return true;
}

bool Wire::flush(std::string* reason) {
  if (phase_ != Phase::Open) return true;
  while (out_sent_ < out_.size()) {
    ssize_t n = raw_send(out_.data() + out_sent_, out_.size() - out_sent_, reason);
    if (n < 0) return false;
    if (n == 0) break;  // the socket is full: the rest goes when poll() says there is room
    out_sent_ += static_cast<size_t>(n);
    sent_total_ += static_cast<uint64_t>(n);
  }
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
  } else if (out_sent_ >= (1u << 20)) {
    out_.consume(out_sent_);
    out_sent_ = 0;
  }
  return true;
}

}  // namespace kazoo::core
