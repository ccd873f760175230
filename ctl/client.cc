// SPDX-License-Identifier: Apache-2.0
#include "ctl/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <optional>

namespace balloond::ctl {

namespace asio = boost::asio;
using Protocol = asio::local::stream_protocol;

Result<control::Response> Client::call(const control::Request& request) {
  asio::io_context io;
  Protocol::socket socket(io);
  const std::string out = control::encode(request);
  std::string in;
  std::optional<boost::system::error_code> connect_ec;
  std::optional<boost::system::error_code> io_ec;

  socket.async_connect(Protocol::endpoint(path_), [&](const boost::system::error_code& ec) {
    connect_ec = ec;
    if (ec) {
      return;
    }
    asio::async_write(
        socket, asio::buffer(out), [&](const boost::system::error_code& wec, std::size_t) {
          if (wec) {
            io_ec = wec;
            return;
          }
          asio::async_read_until(
              socket, asio::dynamic_buffer(in), '\n',
              [&](const boost::system::error_code& rec, std::size_t) { io_ec = rec; });
        });
  });
  io.run_for(timeout_);

  auto fail = [&](Failure f, std::string message) -> Result<control::Response> {
    error_ = {f, message};
    return Error{std::move(message)};
  };
  if (!connect_ec) {
    return fail(Failure::kNoAnswer, path_ + ": no answer from the daemon (connect timed out)");
  }
  if (*connect_ec) {
    const auto& ec = *connect_ec;
    if (ec == asio::error::access_denied || ec == boost::system::errc::permission_denied) {
      return fail(Failure::kPermissionDenied,
                  path_ + ": permission denied (join the socket's group, or run as root)");
    }
    if (ec == boost::system::errc::no_such_file_or_directory ||
        ec == asio::error::connection_refused) {
      return fail(Failure::kNoSocket,
                  path_ + ": " + ec.message() + " (is balloond running? see --socket)");
    }
    return fail(Failure::kNoSocket, path_ + ": cannot connect: " + ec.message());
  }
  const auto newline = in.find('\n');
  if (!io_ec || newline == std::string::npos) {
    return fail(Failure::kNoAnswer, path_ + ": no answer from the daemon within " +
                                        std::to_string(timeout_.count()) + " ms" +
                                        (io_ec && *io_ec ? " (" + io_ec->message() + ")" : ""));
  }
  const std::string_view view = in;
  auto response = control::parseResponse(view.substr(0, newline));
  if (!response) {
    return fail(Failure::kNoAnswer, path_ + ": " + response.error().message);
  }
  return response;
}

}  // namespace balloond::ctl
