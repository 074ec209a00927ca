"""The lake's event broker: its configuration files, hermes' settings, and the remembered --events choice."""

from __future__ import annotations

import configparser

from escape_dlaas.lake import broker
from escape_dlaas.lake.paths import LakePaths
from escape_dlaas.lake.ports import port_in_use


def test_the_broker_speaks_stomp_on_127_0_0_1_only_with_its_own_user():
    conf = broker.rabbitmq_conf(broker.BrokerSettings(True, 40001, 40002, 40003), "pw")
    lines = conf.splitlines()
    assert "listeners.tcp = none" in lines  # no AMQP listener at all
    assert "stomp.listeners.tcp.1 = 127.0.0.1:40001" in lines
    assert f"default_user = {broker.USERNAME}" in lines
    assert "default_pass = pw" in lines


def test_hermes_delivers_to_the_lakes_broker_over_plain_stomp(tmp_path):
    paths = LakePaths(tmp_path)
    broker.ensure_password(paths)
    assert oct(paths.secret(broker.PASSWORD_SECRET).stat().st_mode & 0o777) == "0o600"
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read_string(broker.rucio_cfg_sections(paths, broker.BrokerSettings(True, 40001, 40002, 40003)))
    assert cfg["hermes"]["services_list"] == "activemq"
    hermes = cfg["messaging-hermes"]
    assert (hermes["brokers"], hermes["nonssl_port"], hermes["use_ssl"]) == ("127.0.0.1", "40001", "False")
    assert hermes["password"] == paths.secret(broker.PASSWORD_SECRET).read_text()
    assert hermes["destination"] == broker.DESTINATION
    assert hermes["broker_virtual_host"] == "/"


def test_the_events_choice_and_ports_are_remembered_until_changed(tmp_path):
    paths = LakePaths(tmp_path)
    assert broker.resolve(paths, None, False).enabled is False  # a new lake: off
    chosen = broker.resolve(paths, True, False)
    assert chosen.enabled
    assert len(set(chosen.ports)) == 3
    assert 0 not in chosen.ports
    broker.save_settings(paths, chosen)
    assert broker.resolve(paths, None, False) == chosen  # 'up' without the flag keeps it
    assert broker.resolve(paths, False, False).enabled is False


def test_ports_taken_by_another_program_are_replaced_while_the_broker_is_stopped(tmp_path):
    import socket

    paths = LakePaths(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        broker.save_settings(paths, broker.BrokerSettings(True, port, port + 1, port + 2))
        moved = broker.resolve(paths, None, False)
        assert port not in moved.ports
        assert not any(port_in_use(p) for p in moved.ports)
        assert broker.resolve(paths, None, True).stomp_port == port  # running: it holds its own port


def test_the_instance_gets_the_broker_with_credentials_from_a_file(tmp_path):
    paths = LakePaths(tmp_path)
    events = broker.instance_events(paths, broker.BrokerSettings(True, 40001, 40002, 40003))
    assert events["brokers"] == ["127.0.0.1:40001"]
    assert events["password_file"] == str(paths.secret(broker.PASSWORD_SECRET))
    assert "password" not in events


def test_the_port_mapper_runs_in_the_brokers_process_group_on_127_0_0_1(tmp_path):
    argv = broker.command("broker", LakePaths(tmp_path), broker.BrokerSettings(True, 1, 2, 3), tmp_path)
    assert argv[0] == "/usr/bin/env"
    assert "ERL_EPMD_ADDRESS=127.0.0.1" in argv
    assert "ERL_EPMD_PORT=3" in argv
    assert argv[-1].startswith('epmd -port "$ERL_EPMD_PORT" & exec ')  # not 'epmd -daemon': stopped with the group
