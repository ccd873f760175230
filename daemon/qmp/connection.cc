// SPDX-License-Identifier: Apache-2.0
#include "daemon/qmp/connection.h"

#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <utility>

namespace balloond::qmp {
namespace {

namespace asio = boost::asio;
using json = nlohmann::json;

// At most this many commands wait for an answer at once: balloond sends a handful per session,
// so more means an owner bug or a QEMU that stopped answering; either way, stop sending.
constexpr std::size_t kMaxWaiting = 64;

}  // namespace

std::shared_ptr<Connection> Connection::create(asio::io_context& io, std::string path) {
  return std::shared_ptr<Connection>(new Connection(io, std::move(path)));
}

Connection::Connection(asio::io_context& io, std::string path)
    : io_(io), socket_(io), path_(std::move(path)) {}

Connection::~Connection() {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

void Connection::open(std::function<void(Status)> ready) {
  ready_ = std::move(ready);
  state_ = State::kConnecting;
  socket_.async_connect(
      asio::local::stream_protocol::endpoint(path_),
      [self = shared_from_this()](const boost::system::error_code& ec) {
        if (self->state_ != State::kConnecting) {
          return;  // closed meanwhile
        }
        if (ec) {
          self->refused_ = ec == boost::asio::error::connection_refused ||
                           ec == boost::asio::error::not_found ||
                           ec == boost::system::errc::no_such_file_or_directory;
          self->end(Error{"qmp: " + self->path_ + ": connect: " + ec.message()}, false);
          return;
        }
        ucred cred{};
        socklen_t len = sizeof cred;
        if (getsockopt(self->socket_.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
            cred.pid > 0) {
          self->peer_pid_ = cred.pid;
        }
        self->state_ = State::kGreeting;
        self->readMore();
      });
}

void Connection::readMore() {
  socket_.async_read_some(asio::buffer(buffer_), [self = shared_from_this()](
                                                     const boost::system::error_code& ec,
                                                     std::size_t n) {
    if (self->state_ == State::kEnded) {
      return;
    }
    if (ec) {
      self->end(Error{ec == asio::error::eof ? "qmp: " + self->path_ + ": QEMU closed the socket"
                                             : "qmp: " + self->path_ + ": read: " + ec.message()},
                false);
      return;
    }
    self->reader_.append(std::string_view(self->buffer_.data(), n));
    while (self->state_ != State::kEnded) {
      auto line = self->reader_.next();
      if (!line) {
        self->end(Error{line.error().message + " from " + self->path_}, false);
        return;
      }
      if (!*line) {
        break;
      }
      auto message = parseMessage(**line);
      if (!message) {
        self->end(Error{message.error().message + " from " + self->path_}, false);
        return;
      }
      self->handle(*message);
    }
    if (self->state_ != State::kEnded) {
      self->readMore();
    }
  });
}

void Connection::handle(const Message& m) {
  using Kind = Message::Kind;
  if (state_ == State::kGreeting) {
    if (m.kind != Kind::kGreeting) {
      end(Error{"qmp: " + path_ + ": no greeting"}, false);
      return;
    }
    state_ = State::kNegotiating;
    const uint64_t id = next_id_++;
    waiting_[id] = [this](const Result<json>& r) {
      if (!r) {
        end(Error{"qmp: " + path_ + ": qmp_capabilities: " + r.error().message}, false);
        return;
      }
      state_ = State::kOpen;
      if (ready_) {
        auto ready = std::move(ready_);
        ready(Ok{});
      }
    };
    send(encodeCommand("qmp_capabilities", json(), id));
    return;
  }
  switch (m.kind) {
    case Kind::kGreeting: end(Error{"qmp: " + path_ + ": a second greeting"}, false); return;
    case Kind::kEvent:
      if (state_ == State::kOpen && on_event_) {
        on_event_(m);
      }
      return;
    case Kind::kReturn:
    case Kind::kError: {
      auto it = m.id ? waiting_.find(*m.id) : waiting_.end();
      if (it == waiting_.end()) {
        end(Error{"qmp: " + path_ + ": an answer to no command of ours"}, false);
        return;
      }
      Reply reply = std::move(it->second);
      waiting_.erase(it);
      if (m.kind == Kind::kReturn) {
        reply(m.value);
      } else {
        reply(Error{m.name + (m.text.empty() ? "" : ": " + m.text)});
      }
      return;
    }
  }
}

void Connection::execute(std::string_view command, const json& arguments, Reply reply) {
  if (state_ != State::kOpen || waiting_.size() >= kMaxWaiting) {
    const std::string why = state_ != State::kOpen ? "not open" : "too many commands waiting";
    asio::post(io_, [reply = std::move(reply), why, path = path_] {
      reply(Error{"qmp: " + path + ": " + why});
    });
    return;
  }
  const uint64_t id = next_id_++;
  waiting_[id] = std::move(reply);
  send(encodeCommand(command, arguments, id));
}

void Connection::send(std::string line) {
  outbox_.push_back(std::move(line));
  if (!writing_) {
    writeNext();
  }
}

void Connection::writeNext() {
  if (outbox_.empty() || state_ == State::kEnded) {
    writing_ = false;
    return;
  }
  writing_ = true;
  asio::async_write(socket_, asio::buffer(outbox_.front()),
                    [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                      if (self->state_ == State::kEnded) {
                        return;
                      }
                      if (ec) {
                        self->end(Error{"qmp: " + self->path_ + ": write: " + ec.message()}, false);
                        return;
                      }
                      self->outbox_.pop_front();
                      self->writeNext();
                    });
}

void Connection::close() {
  end(Error{"qmp: " + path_ + ": closed"}, true);
}

void Connection::end(const Error& why, bool by_owner) {
  if (state_ == State::kEnded) {
    return;
  }
  state_ = State::kEnded;
  boost::system::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_both, ignored);
  socket_.close(ignored);
  outbox_.clear();
  auto waiting = std::move(waiting_);
  waiting_.clear();
  auto ready = std::move(ready_);
  ready_ = nullptr;
  auto on_end = by_owner ? EndHandler{} : std::move(on_end_);
  on_end_ = nullptr;
  on_event_ = nullptr;
  // Answered from the io_context: an owner that closes from inside a reply is not re-entered.
  asio::post(io_, [why, waiting = std::move(waiting), ready = std::move(ready),
                   on_end = std::move(on_end)]() mutable {
    if (ready) {
      ready(why);
    }
    for (auto& [id, reply] : waiting) {
      // qmp_capabilities' own handler belongs to the connection and has nothing left to do.
      if (reply) {
        reply(why);
      }
    }
    if (on_end) {
      on_end(why);
    }
  });
}

}  // namespace balloond::qmp
