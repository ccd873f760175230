// SPDX-License-Identifier: Apache-2.0
#include "daemon/admin/admin_surface.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace balloond {
namespace {

// Opening the surface asks the daemon nothing; a request would, and these tests send none.
class UnusedDaemon : public DaemonAccess {
 public:
  Controller& controller() override { std::abort(); }
  const config::Config& config() const override { std::abort(); }
  control::DaemonInfo info() const override { std::abort(); }
  Status reload(const std::string&, bool, const config::FileCheck&) override { std::abort(); }
};

class AdminSurfaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/balloond-admin-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    config_.source = "test.yaml";
    config_.control.socket = dir_ + "/control.sock";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  boost::asio::io_context io_;
  UnusedDaemon daemon_;
  config::Config config_;
  std::string dir_;
};

TEST_F(AdminSurfaceTest, OpensTheControlSocketAndClosesIt) {
  auto surface = AdminSurface::open(io_, daemon_, config_);
  ASSERT_TRUE(surface.ok()) << surface.error().message;
  EXPECT_TRUE(std::filesystem::is_socket(config_.control.socket));
  (*surface)->close();
}

TEST_F(AdminSurfaceTest, AnUnknownGroupIsNamedByItsKey) {
  config_.control.group = "balloond-no-such-group";
  auto surface = AdminSurface::open(io_, daemon_, config_);
  ASSERT_FALSE(surface.ok());
  EXPECT_EQ(surface.error().message.rfind("test.yaml: control.group: ", 0), 0U)
      << surface.error().message;
  config_.control.group.clear();
  config_.control.admin_group = "balloond-no-such-group";
  surface = AdminSurface::open(io_, daemon_, config_);
  ASSERT_FALSE(surface.ok());
  EXPECT_EQ(surface.error().message.rfind("test.yaml: control.admin_group: ", 0), 0U)
      << surface.error().message;
}

TEST_F(AdminSurfaceTest, ABadMetricsAddressFailsTheWholeSurface) {
  config_.metrics.listen = "203.0.113.1:9712";  // not an address of this machine
  auto surface = AdminSurface::open(io_, daemon_, config_);
  ASSERT_FALSE(surface.ok());
  EXPECT_NE(surface.error().message.find("203.0.113.1:9712"), std::string::npos)
      << surface.error().message;
}

}  // namespace
}  // namespace balloond
