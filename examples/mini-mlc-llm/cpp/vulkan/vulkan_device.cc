/*!
 * \file vulkan/vulkan_device.cc
 * \brief Vulkan device discovery: create an instance and count the physical devices
 *        (Mesa's lavapipe reports one llvmpipe device on GPU-less hosts).
 */
#include <vulkan/vulkan.h>

#include <string>
#include <vector>

#include "../backends.h"

namespace mlc {
namespace llm {

int VulkanDeviceCount(std::string* names, std::string* error) {
  VkApplicationInfo app{};
  app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
  app.pApplicationName = "mlc_llm";
  app.applicationVersion = VK_MAKE_VERSION(0, 1, 0);
  app.pEngineName = "mlc_llm";
  app.engineVersion = VK_MAKE_VERSION(0, 1, 0);
  app.apiVersion = VK_API_VERSION_1_1;

  VkInstanceCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
  info.pApplicationInfo = &app;

  VkInstance instance = VK_NULL_HANDLE;
  const VkResult res = vkCreateInstance(&info, nullptr, &instance);
  if (res != VK_SUCCESS) {
    if (error != nullptr) {
      *error = "vkCreateInstance failed with VkResult " + std::to_string(res) +
               " (no Vulkan driver/ICD installed?)";
    }
    return 0;
  }
  uint32_t count = 0;
  vkEnumeratePhysicalDevices(instance, &count, nullptr);
  std::vector<VkPhysicalDevice> devices(count);
  vkEnumeratePhysicalDevices(instance, &count, devices.data());
  if (names != nullptr) {
    names->clear();
    for (VkPhysicalDevice dev : devices) {
      VkPhysicalDeviceProperties props{};
      vkGetPhysicalDeviceProperties(dev, &props);
      if (!names->empty()) *names += "\n";  // names may contain commas
      *names += props.deviceName;
    }
  }
  vkDestroyInstance(instance, nullptr);
  return static_cast<int>(count);
}

}  // namespace llm
}  // namespace mlc
