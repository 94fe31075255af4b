rootProject.name = "deviceflow"
