//! The local AWS servers start, answer a real client, and stop (tests/support/aws_servers.rs).

#[path = "support/aws_servers.rs"]
mod aws_servers;

use aws_servers::Server;

const LIST: &str = "import boto3, sys\nprint(boto3.client(sys.argv[1]).list_streams()['StreamNames'] if sys.argv[1] == 'kinesis' else [b['Name'] for b in boto3.client('s3').list_buckets()['Buckets']])";

#[test]
fn moto_kinesalite_and_s3rver_answer_boto3_and_s3rver_keeps_objects_across_a_restart() {
    let Some(moto) = Server::moto() else { return };
    assert_eq!(moto.python(LIST, &["kinesis"]).trim(), "[]");
    let Some(kinesalite) = Server::kinesalite() else { return };
    assert_eq!(kinesalite.python(LIST, &["kinesis"]).trim(), "[]");
    let Some(mut s3rver) = Server::s3rver() else { return };
    s3rver.python("import boto3\nboto3.client('s3').create_bucket(Bucket='kept')", &[]);
    s3rver.stop();
    assert!(std::net::TcpStream::connect(("127.0.0.1", s3rver.port())).is_err(), "stopped means refused");
    s3rver.restart();
    assert_eq!(s3rver.python(LIST, &["s3"]).trim(), "['kept']");
}
