data "azurerm_subnet" "jobs" {
  name                 = "jobs"
  virtual_network_name = "shop-vnet"
  resource_group_name  = "net"
}

resource "azurerm_subnet" "app" {
  name                 = "app"
  resource_group_name  = "net"
  virtual_network_name = "shop-vnet"
  address_prefixes     = ["10.0.1.0/24"]
}

resource "azurerm_linux_web_app" "app" {
  name = "contoso-app"

  site_config {
    ip_restriction_default_action = "Deny"

    ip_restriction {
      name       = "office"
      priority   = 100
      ip_address = "198.51.100.0/24"
    }

    ip_restriction {
      name                      = "app-subnet"
      priority                  = 200
      virtual_network_subnet_id = azurerm_subnet.app.id
    }

    ip_restriction {
      name                      = "jobs"
      priority                  = 300
      virtual_network_subnet_id = data.azurerm_subnet.jobs.id
    }

    dynamic "ip_restriction" {
      for_each = toset(split(",", file("${path.module}/ranges.txt")))
      content {
        name       = "range"
        priority   = 400
        ip_address = ip_restriction.value
      }
    }
  }
}
