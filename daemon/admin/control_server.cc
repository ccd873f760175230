// SPDX-License-Identifier: Apache-2.0
#include "daemon/admin/control_server.h"

#include <grp.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <filesystem>
#include <system_error>
#include <vector>

#include "proto/control.h"

namespace balloond {

namespace asio = boost::asio;
using Socket = asio::local::stream_protocol::socket;

namespace {

std::string errnoText(int err) {
  return std::generic_category().message(err);
}

// One client: read a line, answer it, repeat; an idle timer closes it with an error.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Socket socket, Peer peer, std::shared_ptr<ControlServer::Handler> handler,
          std::chrono::steady_clock::duration idle, std::shared_ptr<ConnectionGate> gate)
      : socket_(std::move(socket)),
        peer_(peer),
        handler_(std::move(handler)),
        idle_(idle),
        timer_(socket_.get_executor()),
        buffer_(control::kMaxRequestBytes),
        gate_(std::move(gate)) {}
  // The gate admitted this peer before the session was made.
  ~Session() { gate_->release(peer_.uid); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  Session(Session&&) = delete;
  Session& operator=(Session&&) = delete;

  void start() {
    armTimer();
    read();
  }

 private:
  void armTimer() {
    timer_.expires_after(idle_);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->closing_) {
        return;
      }
      if (self->writing_) {  // the client does not read its answers: drop it
        self->shutdown();
        return;
      }
      const auto seconds = std::chrono::duration<double>(self->idle_).count();
      self->finish(control::encode(control::error("idle timeout: no complete request in " +
                                                  fmt::format("{:g}", seconds) + " s")));
    });
  }

  void read() {
    asio::async_read_until(socket_, buffer_, '\n',
                           [self = shared_from_this()](const boost::system::error_code& ec,
                                                       std::size_t n) { self->onRead(ec, n); });
  }

  void onRead(const boost::system::error_code& ec, std::size_t n) {
    if (closing_) {
      return;
    }
    if (ec == asio::error::not_found) {  // the buffer is full and still no newline
      finish(control::encode(control::error("request too large: at most " +
                                            std::to_string(control::kMaxRequestBytes) +
                                            " bytes per line")));
      return;
    }
    if (ec) {  // the client went away (EOF or reset)
      shutdown();
      return;
    }
    std::string line(asio::buffers_begin(buffer_.data()),
                     asio::buffers_begin(buffer_.data()) + static_cast<std::ptrdiff_t>(n));
    buffer_.consume(n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
      line.pop_back();
    }
    if (line.empty()) {  // a blank line is not a request
      read();
      return;
    }
    write((*handler_)(line, peer_), false);
  }

  void write(std::string out, bool last) {
    writing_ = true;
    out_ = std::move(out);
    asio::async_write(
        socket_, asio::buffer(out_),
        [self = shared_from_this(), last](const boost::system::error_code& ec, std::size_t) {
          self->writing_ = false;
          if (ec || last) {
            self->shutdown();
            return;
          }
          self->armTimer();
          self->read();
        });
  }

  // Sends a last answer, then closes.
  void finish(std::string out) {
    closing_ = true;
    write(std::move(out), true);
  }

  void shutdown() {
    closing_ = true;
    timer_.cancel();
    boost::system::error_code ignored;
    socket_.shutdown(Socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  Socket socket_;
  Peer peer_;
  std::shared_ptr<ControlServer::Handler> handler_;
  std::chrono::steady_clock::duration idle_;
  asio::steady_timer timer_;
  asio::streambuf buffer_;
  std::string out_;
  bool writing_ = false;
  bool closing_ = false;
  std::shared_ptr<ConnectionGate> gate_;
};

std::optional<Peer> peerCredentials(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return std::nullopt;
  }
  return Peer{.uid = static_cast<int>(cred.uid),
              .gid = static_cast<int>(cred.gid),
              .pid = cred.pid,
              .admin = false};
}

// A socket file left by a daemon that is gone is removed; a live one is an error.
Status clearStaleSocket(asio::io_context& io, const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    return Ok{};
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Error{path + ": exists and is not a socket"};
  }
  Socket probe(io);
  boost::system::error_code ec;
  probe.connect(asio::local::stream_protocol::endpoint(path), ec);
  if (!ec) {
    return Error{path + ": another daemon is listening there"};
  }
  if (unlink(path.c_str()) != 0) {
    return Error{path + ": cannot remove the stale socket: " + errnoText(errno)};
  }
  return Ok{};
}

}  // namespace

Result<gid_t> lookupGroup(const std::string& name) {
  std::array<char, 16384> buf{};
  group gr{};
  group* found = nullptr;
  if (getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return Error{"no such group '" + name + "'"};
  }
  return found->gr_gid;
}

bool isAdmin(uid_t uid, gid_t gid, std::optional<gid_t> admin_group) {
  if (uid == 0) {
    return true;
  }
  if (!admin_group) {
    return false;
  }
  if (gid == *admin_group) {
    return true;
  }
  std::array<char, 16384> buf{};
  passwd pw{};
  passwd* found = nullptr;
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return false;
  }
  int count = 64;
  std::vector<gid_t> groups(static_cast<size_t>(count));
  if (getgrouplist(found->pw_name, gid, groups.data(), &count) < 0) {
    groups.resize(static_cast<size_t>(count));
    if (getgrouplist(found->pw_name, gid, groups.data(), &count) < 0) {
      return false;
    }
  }
  groups.resize(static_cast<size_t>(count));
  return std::find(groups.begin(), groups.end(), *admin_group) != groups.end();
}

ControlServer::ControlServer(asio::io_context& io, ControlServerOptions options, Handler handler)
    : options_(std::move(options)),
      handler_(std::make_shared<Handler>(std::move(handler))),
      acceptor_(io),
      retry_(io),
      gate_(std::make_shared<ConnectionGate>(options_.limits.control_total,
                                             options_.limits.control_per_uid,
                                             options_.limits.control_root)) {}

Result<std::unique_ptr<ControlServer>> ControlServer::create(asio::io_context& io,
                                                             ControlServerOptions options,
                                                             Handler handler) {
  const std::string path = options.path;
  std::error_code fs_ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir, fs_ec)) {
    std::filesystem::create_directories(dir, fs_ec);
    if (fs_ec) {
      return Error{"control socket " + path + ": cannot create " + dir.string() + ": " +
                   fs_ec.message()};
    }
  }
  if (auto s = clearStaleSocket(io, path); !s) {
    return Error{"control socket " + s.error().message};
  }
  std::unique_ptr<ControlServer> server(
      new ControlServer(io, std::move(options), std::move(handler)));
  boost::system::error_code ec;
  auto& acceptor = server->acceptor_;
  if (acceptor.open(asio::local::stream_protocol(), ec);
      !ec && !acceptor.bind(asio::local::stream_protocol::endpoint(path), ec)) {
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return Error{"control socket " + path + ": " + ec.message()};
  }
  const gid_t group = server->options_.group.value_or(0);
  if (chown(path.c_str(), static_cast<uid_t>(-1), group) != 0 || chmod(path.c_str(), 0660) != 0) {
    return Error{"control socket " + path + ": cannot set group and mode: " + errnoText(errno)};
  }
  spdlog::info("control-listening path={} gid={} idle_timeout_s={}", path, group,
               server->options_.idle_timeout_s);
  server->accept();
  return server;
}

ControlServer::~ControlServer() {
  try {
    close();
  } catch (const std::exception& e) {
    // A destructor must not throw; closing a socket that is going away cannot fail usefully.
    (void)e;
  }
}

void ControlServer::close() {
  if (*closed_) {
    return;
  }
  *closed_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  retry_.cancel();
  unlink(options_.path.c_str());
}

void ControlServer::accept() {
  acceptor_.async_accept([this, closed = closed_](const boost::system::error_code& ec,
                                                  Socket socket) {
    if (*closed) {
      return;
    }
    if (!ec) {
      Peer peer = (options_.credentials ? options_.credentials(socket.native_handle())
                                        : peerCredentials(socket.native_handle()))
                      .value_or(Peer{});
      if (auto admitted = gate_->admit(peer.uid); !admitted) {
        refuse(socket, peer, admitted.error().message);
      } else {
        peer.admin = peer.uid >= 0 && isAdmin(static_cast<uid_t>(peer.uid),
                                              static_cast<gid_t>(peer.gid), options_.admin_group);
        const auto idle = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(options_.idle_timeout_s));
        std::make_shared<Session>(std::move(socket), peer, handler_, idle, gate_)->start();
      }
      accept();
      return;
    }
    // Out of descriptors or similar: back off instead of spinning on the loop.
    spdlog::warn("control-accept-failed error=\"{}\"", ec.message());
    retry_.expires_after(std::chrono::milliseconds(100));
    retry_.async_wait([this, closed](const boost::system::error_code& wait_ec) {
      if (!wait_ec && !*closed) {
        accept();
      }
    });
  });
}

void ControlServer::refuse(Socket& socket, const Peer& peer, const std::string& why) {
  // A fresh socket's send buffer takes one short line: write it without waiting, then close,
  // so a refused peer holds no descriptor of ours for a moment longer.
  boost::system::error_code ignored;
  socket.non_blocking(true, ignored);
  const std::string answer = control::encode(control::error(why));
  socket.write_some(asio::buffer(answer), ignored);
  socket.shutdown(Socket::shutdown_both, ignored);
  socket.close(ignored);
  refusals_.refused(fmt::format("uid={} pid={} reason=\"{}\"", peer.uid, peer.pid, why),
                    std::chrono::steady_clock::now());
}

}  // namespace balloond
